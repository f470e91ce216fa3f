"""The shell: workspace picker and dashboard."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from otodoke.web import dashboard as figures
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.charts import friend_chart, gauge
from otodoke.web.first_run import first_run_steps
from otodoke.web.htmx import render_page
from otodoke.web.line_info import month_quota
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import can_create_workspace


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Straight to the dashboard when the login has one workspace (the usual shop)."""
    workspaces = list(Workspace.objects.for_user(request.user))
    if len(workspaces) == 1:
        return redirect("web:dashboard", slug=workspaces[0].slug)
    context = {"workspaces": workspaces, "can_create_workspace": can_create_workspace(request.user)}
    return render(request, "web/home.html", context)


@workspace_view()
def dashboard(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    workspace = access.workspace
    counts = figures.friend_counts(workspace)
    context = {
        "access": access,
        "section": "dashboard",
        "counts": counts,
        "first_run": first_run_steps(workspace, counts),
        "chart": friend_chart(figures.friend_series(workspace)),
        "campaigns": figures.recent_campaigns(workspace),
    }
    return render_page(request, "web/dashboard.html", context)


@workspace_view()
def quota(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """Loaded by htmx after the dashboard, so a slow or absent LINE never delays the page."""
    found = month_quota(access.workspace)
    use = figures.month_use(access.workspace, found) if found else None
    context = {
        "access": access,
        "quota": use,
        "gauge": gauge(use.percent) if use and use.limit else None,
    }
    return render_page(request, "web/dashboard.html", context, partial="quota")
