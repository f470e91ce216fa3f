"""Contacts: list and search, one contact, CSV import with mapping and progress."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.contacts.imports.reading import ImportFileError
from otodoke.contacts.jobs import error_report_path
from otodoke.contacts.models import Contact, ImportJob, ImportKind
from otodoke.contacts.privacy import is_linked
from otodoke.line.client import LineApiError
from otodoke.line.invites import LinkInviteRefused, invite_problem, send_link_invite
from otodoke.richmenus.services import contact_menu
from otodoke.scenarios.presenters import contact_enrolments
from otodoke.segments.schema import DefinitionError
from otodoke.web import contacts as queries
from otodoke.web import imports
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.forms_contacts import (
    ContactFilterForm,
    ImportUploadForm,
    MappingForm,
    field_label,
)
from otodoke.web.htmx import render_page
from otodoke.workspaces.models import AuditAction
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import record_audit

PAGE_SIZE = 50
RECENT_IMPORTS = 10


@workspace_view()
def contact_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    show_pii = access.can(Permission.VIEW_PII)
    form = ContactFilterForm(
        request.GET or None,
        tags=queries.tag_names(access.workspace, chosen=request.GET.get("tag", "")),
        segments=queries.segment_choices(access.workspace),
    )
    chosen = form.to_filter()
    segment_problem = ""
    try:
        found = queries.search_contacts(access.workspace, chosen, include_pii=show_pii)
    except DefinitionError as exc:
        # A saved segment can stop compiling (e.g. a segment it refers to was deleted): the
        # list says so and shows nobody rather than everybody.
        found = Contact.objects.none()
        segment_problem = "; ".join(p.message for p in exc.problems)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "access": access,
        "section": "contacts",
        "form": form,
        "page": page,
        "cards": [queries.contact_card(c, show_pii=show_pii) for c in page],
        "query": query.urlencode(),
        "segment": chosen.segment,
        "segment_problem": segment_problem,
    }
    return render_page(request, "web/contacts/list.html", context, partial="rows")


@workspace_view()
def contact_detail(request: HttpRequest, access: WorkspaceAccess, contact_id: int) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id, workspace=access.workspace)
    context = {
        "access": access,
        "section": "contacts",
        "card": queries.contact_card(contact, show_pii=access.can(Permission.VIEW_PII)),
        "tags": queries.contact_tags(contact),
        "events": queries.contact_events(contact),
        "campaigns": queries.contact_campaigns(contact),
        "enrolments": contact_enrolments(contact.pk),
        "richmenu": contact_menu(contact) if contact.line_user_id else None,
        "can_invite_to_link": access.can(Permission.SEND) and invite_problem(contact) is None,
        "can_unlink": access.can(Permission.EDIT) and is_linked(contact),
        "can_delete": access.can(Permission.DELETE_CONTACTS),
        "can_edit": access.can(Permission.EDIT),
        "tag_suggestions": queries.tag_names(access.workspace),
        "consent_history": queries.consent_history(contact),
    }
    return render_page(request, "web/contacts/detail.html", context)


@require_POST
@workspace_view(Permission.SEND)
def contact_link_invite(
    request: HttpRequest, access: WorkspaceAccess, contact_id: int
) -> HttpResponse:
    contact = get_object_or_404(Contact, pk=contact_id, workspace=access.workspace)
    try:
        send_link_invite(access.workspace, contact, actor=access.user)
    except LinkInviteRefused as exc:
        messages.error(request, str(exc))
    except LineApiError as exc:
        messages.error(
            request,
            _("LINE did not accept the invitation: %(error)s") % {"error": exc.describe()},
        )
    else:
        messages.success(
            request,
            _(
                "Invitation sent. The friend links by opening it in LINE "
                "and entering their details."
            ),
        )
    return redirect("web:contact", slug=access.workspace.slug, contact_id=contact.pk)


def _recent_jobs(access: WorkspaceAccess) -> list[ImportJob]:
    jobs = ImportJob.objects.filter(workspace=access.workspace).select_related("created_by")
    return list(jobs[:RECENT_IMPORTS])


@workspace_view(Permission.EDIT)
def import_upload(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        handle = imports.store_upload(access.workspace, form.cleaned_data["file"])
        target = reverse("web:import_map", args=[access.workspace.slug])
        # The user's own file name travels with the handle so the job page shows it.
        name = Path(form.cleaned_data["file"].name or "").name[:255]
        params = {"kind": form.cleaned_data["kind"], "f": handle, "name": name}
        return redirect(f"{target}?{urlencode(params)}")
    context = {
        "access": access,
        "section": "contacts",
        "form": form,
        "jobs": _recent_jobs(access),
    }
    return render_page(request, "web/contacts/import.html", context)


@workspace_view(Permission.EDIT)
def import_map(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    handle = data.get("f", "")
    context: dict[str, object] = {
        "access": access,
        "section": "contacts",
        "handle": handle,
        "file_name": data.get("name", "")[:255],
    }
    try:
        kind = ImportKind(data.get("kind", ""))
        proposal = imports.propose_mapping(kind, imports.stored_path(access.workspace, handle))
    except (ValueError, ImportFileError) as exc:
        context["failure"] = str(exc)
        return render_page(request, "web/contacts/import_map.html", context, status=400)
    form = MappingForm(request.POST or None, proposal=proposal)
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.start_import(
                access.workspace,
                kind=kind,
                handle=handle,
                mapping=imports.explicit_mapping(proposal, form.chosen()),
                actor=access.user,
                tag_separator=form.tag_separator(),
                file_name=data.get("name", "")[:255],
            )
        except ImportFileError as exc:
            context["failure"] = str(exc)
        else:
            return redirect("web:import_job", slug=access.workspace.slug, job_id=job.pk)
    context.update(
        form=form,
        proposal=proposal,
        kind_label=kind.label,
        rows=[
            (column, form[f"col_{column.index}"], field_label(kind, column.field))
            for column in proposal.columns
        ],
    )
    return render_page(request, "web/contacts/import_map.html", context)


@workspace_view(Permission.EDIT)
def import_job(request: HttpRequest, access: WorkspaceAccess, job_id: int) -> HttpResponse:
    # Every member who may import sees every import of the workspace (they change the same
    # contacts); the rejected values in the errors are masked without Permission.VIEW_PII.
    job = get_object_or_404(ImportJob, pk=job_id, workspace=access.workspace)
    sees_pii = access.can(Permission.VIEW_PII)
    context = {
        "access": access,
        "section": "contacts",
        "job": job,
        "errors": imports.visible_errors(job, sees_pii=sees_pii),
        "failure": imports.visible_failure(job, sees_pii=sees_pii),
        # The file quotes the rejected cells (phones, e-mails…): personal data.
        "can_download_errors": sees_pii,
    }
    return render_page(request, "web/contacts/import_job.html", context, partial="progress")


@workspace_view(Permission.EDIT)
def import_job_errors(request: HttpRequest, access: WorkspaceAccess, job_id: int) -> HttpResponse:
    """Every rejected row of the job as CSV (the page shows only the first ones)."""
    access.require(Permission.VIEW_PII)
    job = get_object_or_404(ImportJob, pk=job_id, workspace=access.workspace)
    path = error_report_path(job)
    if not path.is_file():
        raise Http404(_("This import has no error report."))
    record_audit(
        access.workspace,
        AuditAction.EXPORTED,
        actor=access.user,
        target=f"{job.file_name} errors",
        details={"job": job.pk, "rows": job.error_count},
    )
    name = f"{job.file_name.rsplit('.', 1)[0]}-errors.csv"
    # Streamed like the segment exports; workspace_view is typed for HttpResponse.
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=name, content_type="text/csv"
    )
    return cast(HttpResponse, response)
