"""Exports of a segment or an audience for LINE's upload screens. Every view here needs
Permission.EXPORT: the buttons are hidden without it, and this check is the one that counts.
The export service audits each export."""

from __future__ import annotations

from typing import cast

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET

from otodoke.segments.exports import ExportKind, ExportSource
from otodoke.segments.models import Audience, Segment
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.htmx import render_page
from otodoke.web.segments_export import load_export, run_export
from otodoke.web.segments_forms import ExportForm
from otodoke.workspaces.roles import Permission


def _export(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    source: ExportSource,
    label: str,
    section: str,
    back: str,
) -> HttpResponse:
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = run_export(
            access.workspace,
            kind=ExportKind(form.cleaned_data["kind"]),
            source=source,
            source_label=label,
            actor=access.user,
            hashed=form.cleaned_data["hashed"],
        )
        return redirect("web:export_result", slug=access.workspace.slug, token=token)
    context = {"access": access, "section": section, "form": form, "label": label, "back": back}
    return render_page(request, "web/segments/export.html", context)


@workspace_view(Permission.EXPORT)
def segment_export(request: HttpRequest, access: WorkspaceAccess, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id, workspace=access.workspace)
    return _export(
        request,
        access,
        source=ExportSource(segment=segment),
        label=segment.name,
        section="segments",
        back=reverse("web:segment", args=[access.workspace.slug, segment.pk]),
    )


@workspace_view(Permission.EXPORT)
def audience_export(
    request: HttpRequest, access: WorkspaceAccess, audience_id: int
) -> HttpResponse:
    audience = get_object_or_404(Audience, pk=audience_id, workspace=access.workspace)
    return _export(
        request,
        access,
        source=ExportSource(audience=audience),
        label=audience.name,
        section="audiences",
        back=reverse("web:audience", args=[access.workspace.slug, audience.pk]),
    )


@require_GET
@workspace_view(Permission.EXPORT)
def export_result(request: HttpRequest, access: WorkspaceAccess, token: str) -> HttpResponse:
    stored = load_export(access.workspace, token)
    context = {"access": access, "section": "segments", "export": stored}
    return render_page(request, "web/segments/export_done.html", context)


@require_GET
@workspace_view(Permission.EXPORT)
def export_file(
    request: HttpRequest, access: WorkspaceAccess, token: str, which: str
) -> HttpResponse:
    stored = load_export(access.workspace, token)
    path = stored.report if which == "report" else stored.download
    # Streamed (a split export can be tens of MB); workspace_view is typed for HttpResponse.
    response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
    return cast(HttpResponse, response)
