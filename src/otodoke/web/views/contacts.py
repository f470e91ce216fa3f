"""Contacts: list and search, one contact, CSV import with mapping and progress."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
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
from otodoke.segments import contact_search as search
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import save_segment
from otodoke.segments.summary import summarize
from otodoke.web import contacts as queries
from otodoke.web import imports
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.forms_contacts import (
    ContactFilterForm,
    ImportUploadForm,
    MappingForm,
    SaveSearchForm,
    field_label,
)
from otodoke.web.htmx import render_page
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import record_audit

PAGE_SIZE = 50
RECENT_IMPORTS = 10


@workspace_view()
def contact_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    workspace = access.workspace
    show_pii = access.can(Permission.VIEW_PII)
    segments = queries.segment_choices(workspace)
    chosen_segment = (
        segments.filter(pk=request.GET.get("segment") or 0).first()
        if (request.GET.get("segment", "").isdigit())
        else None
    )
    form = ContactFilterForm(
        request.GET or None,
        tags=queries.tag_names(workspace, chosen=request.GET.get("tag", "")),
        segments=segments,
        default_who=queries.default_who(workspace, segment=chosen_segment),
    )
    chosen = form.to_filter()
    sort, descending = form.ordering()
    segment_problem = ""
    page = search.Page([], None)
    count = search.CappedCount(0, capped=False)
    cursor = None
    try:
        found = queries.search_contacts(workspace, chosen, include_pii=show_pii)
        if token := request.GET.get("after", ""):
            cursor = search.decode_cursor(sort, token)
        page = search.read_page(
            found,
            sort=sort,
            descending=descending,
            cursor=cursor,
            size=PAGE_SIZE,
            everyone=Contact.objects.in_workspace(workspace),
        )
        exact = request.GET.get("count") == "exact"
        count = search.capped_count(found, cap=None if exact else search.COUNT_CAP)
    except DefinitionError as exc:
        # A saved segment can stop compiling (e.g. a segment it refers to was deleted): the
        # list says so and shows nobody rather than everybody.
        segment_problem = "; ".join(p.message for p in exc.problems)
    except search.CursorError:
        # An old or edited link: start again from the first page.
        return redirect(f"{request.path}?{_without(request, 'after')}")
    definition = chosen.filters.definition()
    today = timezone.localdate(timezone=workspace.tzinfo)
    tags = queries.page_tags([c.pk for c in page.rows])
    columns = form.columns()
    context = {
        "access": access,
        "section": "contacts",
        "form": form,
        "cards": [
            queries.contact_card(c, show_pii=show_pii, today=today, tags=tags[c.pk])
            for c in page.rows
        ],
        "count": count,
        "columns": columns,
        "headers": _headers(request, columns, sort, descending),
        "next_url": f"?{_with(request, after=page.next_cursor)}" if page.next_cursor else "",
        "first_url": f"?{_without(request, 'after')}" if cursor else "",
        "exact_count_url": f"?{_with(request, count='exact')}",
        "query": _without(request, "after"),
        "segment": chosen.segment,
        "segment_problem": segment_problem,
        "definition_json": json.dumps(definition, ensure_ascii=False),
        "filter_summary": summarize(definition) if chosen.filters.conditions() else "",
        "save_form": SaveSearchForm(initial={"name": _default_segment_name(workspace)}),
    }
    return render_page(request, "web/contacts/list.html", context, partial="rows")


def _with(request: HttpRequest, **changes: str) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return query.urlencode()


def _without(request: HttpRequest, *keys: str) -> str:
    query = request.GET.copy()
    for key in keys:
        query.pop(key, None)
    return query.urlencode()


@dataclass(frozen=True)
class Header:
    column: str
    label: str
    url: str  # "" when the column does not sort
    state: str  # "asc" | "desc" | "" (not the current sort)


def _headers(request: HttpRequest, columns: list[str], sort: str, descending: bool) -> list[Header]:
    found = []
    for column in columns:
        key = queries.SORTABLE_COLUMNS.get(column)
        label = str(queries.COLUMN_LABELS[column])
        if key is None:
            found.append(Header(column, label, "", ""))
            continue
        current = key == sort
        # A click on the current sort flips it; on another column it starts in its natural
        # direction (biggest spenders, latest visit first).
        if current:
            direction = "asc" if descending else "desc"
        else:
            direction = "desc" if key in {"last_visit", "visits", "spent"} else "asc"
        query = request.GET.copy()
        query.pop("after", None)
        query["sort"], query["dir"] = key, direction
        state = ("desc" if descending else "asc") if current else ""
        found.append(Header(column, label, f"?{query.urlencode()}", state))
    return found


def _default_segment_name(workspace: Workspace) -> str:
    now = timezone.localtime(timezone=workspace.tzinfo)
    return _("Search of %(when)s") % {"when": now.strftime("%Y-%m-%d %H:%M")}


@require_POST
@workspace_view(Permission.EDIT)
def contact_search_save(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """ "Save this search as a segment": the list's filters are already a segment definition."""
    form = SaveSearchForm(request.POST)
    back = reverse("web:contacts", args=[access.workspace.slug])
    if form.is_valid():
        try:
            segment = save_segment(
                access.workspace,
                name=form.cleaned_data["name"],
                definition=form.cleaned_data["definition"],
                actor=access.user,
            )
        except DefinitionError as exc:
            messages.error(request, "; ".join(p.message for p in exc.problems))
        else:
            messages.success(
                request, _("Saved the search as the segment “%(name)s”.") % {"name": segment.name}
            )
            return redirect("web:segment", slug=access.workspace.slug, segment_id=segment.pk)
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    query = form.data.get("back", "")
    return redirect(f"{back}?{query}" if query else back)


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
    # ?kind=links: the dashboard's "link them" step opens the page with that kind chosen.
    kind = request.GET.get("kind", "")
    initial = {"kind": kind} if kind in ImportKind.values else None
    form = ImportUploadForm(request.POST or None, request.FILES or None, initial=initial)
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
