"""Audiences: frozen lists of contacts. List, upload of a user-ID file (with the report of bad
and unknown lines), snapshot of a segment, a manual pick from the contact list, and a detail
page with a sample of members."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.segments import audience_edit
from otodoke.segments.audiences import (
    create_audience_from_contacts,
    create_audience_from_file,
    create_audience_from_segment,
)
from otodoke.segments.models import Audience, Segment
from otodoke.web import segments as queries
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.forms_contacts import AudiencePickForm
from otodoke.web.htmx import render_page
from otodoke.web.segments_forms import AudienceForm, AudienceUploadForm, SnapshotForm
from otodoke.workspaces.roles import Permission

# The page lists the first problems; the rest are counted (line numbers point into the
# user's own file, which they can open themselves).
REPORT_LINES = 200


@workspace_view()
def audience_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    context = {
        "access": access,
        "section": "audiences",
        "audiences": Audience.objects.filter(workspace=access.workspace),
    }
    return render_page(request, "web/audiences/list.html", context)


@workspace_view(Permission.EDIT)
def audience_upload(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = AudienceUploadForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"access": access, "section": "audiences", "form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        report = create_audience_from_file(
            access.workspace,
            name=form.cleaned_data["name"],
            file=upload.read(),
            actor=access.user,
            strict=form.cleaned_data["strict"],
            file_name=upload.name or "",
        )
        reasons = {
            "invalid": _("Not a LINE user ID"),
            "unknown": _("No contact has this ID"),
            "duplicate": _("Repeated line"),
        }
        context.update(
            report=report,
            problems=[
                (p.line, reasons.get(p.reason, p.reason), p.message) for p in report.problems
            ][:REPORT_LINES],
            more_problems=max(len(report.problems) - REPORT_LINES, 0),
        )
    return render_page(request, "web/audiences/upload.html", context)


@require_POST
@workspace_view(Permission.EDIT)
def audience_snapshot(
    request: HttpRequest, access: WorkspaceAccess, segment_id: int
) -> HttpResponse:
    """Freeze who matches the saved segment now."""
    segment = get_object_or_404(Segment, pk=segment_id, workspace=access.workspace)
    form = SnapshotForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the audience a name."))
        return redirect("web:segment", slug=access.workspace.slug, segment_id=segment.pk)
    audience = create_audience_from_segment(
        access.workspace, name=form.cleaned_data["name"], definition=segment, actor=access.user
    )
    messages.success(
        request,
        _("Saved the %(n)s contacts of “%(segment)s” as an audience.")
        % {"n": f"{audience.size:,}", "segment": segment.name},
    )
    return redirect("web:audience", slug=access.workspace.slug, audience_id=audience.pk)


@require_POST
@workspace_view(Permission.EDIT)
def audience_from_contacts(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """A manual pick: the contacts ticked in the contact list, frozen as an audience."""
    form = AudiencePickForm(request.POST)
    if form.is_valid():
        try:
            audience = create_audience_from_contacts(
                access.workspace,
                name=form.cleaned_data["name"],
                contact_ids=form.cleaned_data["contact_ids"],
                actor=access.user,
            )
        except ValueError as exc:  # an ID of no contact of this workspace
            form.add_error("contact_ids", str(exc))
        else:
            messages.success(
                request,
                _("Saved the %(n)s selected contacts as the audience “%(name)s”.")
                % {"n": f"{audience.size:,}", "name": audience.name},
            )
            return redirect("web:audience", slug=access.workspace.slug, audience_id=audience.pk)
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))
    # Back to the list as it was filtered; the query string is re-encoded, never echoed.
    back = QueryDict(form.data.get("back", "")).urlencode()
    target = reverse("web:contacts", args=[access.workspace.slug])
    return redirect(f"{target}?{back}" if back else target)


@workspace_view()
def audience_detail(
    request: HttpRequest, access: WorkspaceAccess, audience_id: int
) -> HttpResponse:
    audience = get_object_or_404(Audience, pk=audience_id, workspace=access.workspace)
    page = int(p) if (p := request.GET.get("page", "1")).isdigit() and int(p) > 0 else 1
    cards, more = queries.audience_cards(
        audience, show_pii=access.can(Permission.VIEW_PII), page=page
    )
    context = {
        "access": access,
        "section": "audiences",
        "audience": audience,
        "details": audience.source_details or {},
        "cards": cards,
        "page": page,
        "more": more,
    }
    return render_page(request, "web/audiences/detail.html", context, partial="members")


@require_POST
@workspace_view(Permission.EDIT)
def audience_rename(
    request: HttpRequest, access: WorkspaceAccess, audience_id: int
) -> HttpResponse:
    audience = get_object_or_404(Audience, pk=audience_id, workspace=access.workspace)
    form = AudienceForm(request.POST)
    if form.is_valid():
        audience_edit.rename_audience(audience, **form.cleaned_data)
        messages.success(request, _("Audience saved."))
    else:
        messages.error(request, _("Give the audience a name (at most 200 characters)."))
    return redirect("web:audience", slug=access.workspace.slug, audience_id=audience.pk)


@require_POST
@workspace_view(Permission.EDIT)
def audience_delete(
    request: HttpRequest, access: WorkspaceAccess, audience_id: int
) -> HttpResponse:
    audience = get_object_or_404(Audience, pk=audience_id, workspace=access.workspace)
    try:
        audience_edit.delete_audience(audience)
    except audience_edit.AudienceInUse as exc:
        messages.error(request, str(exc))
        return redirect("web:audience", slug=access.workspace.slug, audience_id=audience.pk)
    messages.success(request, _("Deleted “%(name)s”.") % {"name": audience.name})
    return redirect("web:audiences", slug=access.workspace.slug)
