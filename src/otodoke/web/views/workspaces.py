"""「新しいワークスペース」: create a workspace from the UI, as `otodoke workspace create` does
from the command line, through the same service. Who may: see `can_create_workspace`."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from otodoke.web.forms_workspaces import WorkspaceCreateForm
from otodoke.workspaces.services import can_create_workspace, create_workspace


@login_required
def workspace_create(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not can_create_workspace(user):
        raise PermissionDenied(
            _("Only the owner of a workspace or an administrator can create workspaces.")
        )
    form = WorkspaceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workspace = create_workspace(
                name=data["name"],
                slug=data["slug"] or None,
                channel_id=data["channel_id"],
                channel_secret=data["channel_secret"],
                channel_access_token=data["channel_access_token"],
                api_base_url=settings.LINE_API_BASE_URL,
                plan=data["plan"],
                time_zone=data["time_zone"],
                owner=user,
                actor=user,
            )
        except ValidationError as exc:
            # A slug taken between the form's check and the save (two tabs): nothing was saved.
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Workspace “%(name)s” created.") % {"name": workspace.name})
            return redirect("web:dashboard", slug=workspace.slug)
    return render(request, "web/workspace_new.html", {"form": form})
