"""Contacts: get, search (cursor pagination), upsert by customer number, bulk upsert, unlink
the LINE account, delete on request.

Each endpoint is a thin wrapper over an operation taking a `Caller` (search, get, upsert…), so
`otodoke contact …` runs the very same code for scripts and prints the same JSON."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ApiError, ErrorDetail, ErrorOut
from otodoke.api.pagination import page
from otodoke.api.routers.contact_schemas import (
    ContactBulkIn,
    ContactBulkOut,
    ContactDeletedOut,
    ContactFields,
    ContactFilters,
    ContactOut,
    ContactPage,
    ContactUnlinkedOut,
    contact_out,
    join_path,
    search_filters,
    to_input,
)
from otodoke.api.schemas import item_results
from otodoke.contacts import privacy
from otodoke.contacts.inputs import ContactInput
from otodoke.contacts.models import Contact, ContactTag, LinkedVia, Tag, TagSource
from otodoke.contacts.services import upsert_contacts
from otodoke.core.statistics import refresh_stale_statistics
from otodoke.segments.services import contacts_matching
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission

router = Router()


def _contacts(workspace: Workspace) -> QuerySet[Contact]:
    return Contact.objects.in_workspace(workspace).prefetch_related("contact_tags__tag")


@router.get("", response={200: ContactPage, **COMMON_ERRORS}, summary="Search contacts")
def search_contacts(request: HttpRequest, filters: Query[ContactFilters]) -> ContactPage:
    return search(principal(request), filters)


def _customer_search(
    workspace: Workspace, filters: ContactFilters, qs: QuerySet[Contact]
) -> QuerySet[Contact]:
    """The contact list's filters, compiled as the segment definition they are."""
    try:
        wanted = search_filters(filters)
        if not wanted.conditions():
            return qs
        return qs & contacts_matching(workspace, wanted.definition())
    except ValueError as exc:
        # DefinitionError is a ValueError: a min above its max, an unknown prefecture…
        problems = getattr(exc, "problems", None)
        message = (
            "; ".join(p.message for p in problems)
            if problems
            else _("last_visit within/before needs last_visit_days")
        )
        raise ApiError(422, message, code="validation_error", details=[("query", message)]) from exc


def search(caller: Caller, filters: ContactFilters) -> ContactPage:
    caller.require(Permission.VIEW)
    qs = _contacts(caller.workspace)
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(name_kana__icontains=filters.q)
            | Q(external_id__startswith=filters.q)
        )
    if filters.external_id:
        qs = qs.filter(external_id=filters.external_id)
    if filters.tag:
        qs = qs.filter(contact_tags__tag__name=filters.tag)
    if filters.line_status:
        qs = qs.filter(line_status=filters.line_status)
    if filters.updated_since:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    qs = _customer_search(caller.workspace, filters, qs)
    pii_filters = {
        f: getattr(filters, f) for f in ("email", "phone", "line_user_id") if getattr(filters, f)
    }
    if pii_filters:
        caller.require(Permission.VIEW_PII)
        qs = qs.filter(**pii_filters)
    rows, next_cursor = page(qs, cursor=filters.cursor, limit=filters.limit)
    return ContactPage(
        items=[contact_out(c, pii=caller.sees_pii) for c in rows], next_cursor=next_cursor
    )


@router.get(
    "/by-external-id/{external_id}",
    response={200: ContactOut, **COMMON_ERRORS},
    summary="Get a contact by customer number",
)
def get_contact_by_external_id(request: HttpRequest, external_id: str) -> ContactOut:
    return get_by_external_id(principal(request), external_id)


def get_by_external_id(caller: Caller, external_id: str) -> ContactOut:
    caller.require(Permission.VIEW)
    contact = _contacts(caller.workspace).get(external_id=external_id)
    return contact_out(contact, pii=caller.sees_pii)


@router.put(
    "/by-external-id/{external_id}",
    response={200: ContactOut, **COMMON_ERRORS},
    summary="Create or update a contact by customer number",
)
def upsert_contact(request: HttpRequest, external_id: str, payload: ContactFields) -> ContactOut:
    return upsert(principal(request), external_id, payload)


def upsert(caller: Caller, external_id: str, payload: ContactFields) -> ContactOut:
    caller.require(Permission.EDIT)
    external_id = external_id.strip()
    if not external_id or len(external_id) > 100:
        raise ApiError(
            422,
            _("The request is not valid"),
            details=[("external_id", _("1 to 100 characters"))],
        )
    row, errors = to_input(payload, row=0, path="", external_id=external_id)
    if row is None:
        raise ApiError(422, _("The request is not valid"), details=_pairs(errors))
    result = upsert_contacts(caller.workspace, [row], source=TagSource.API, via=LinkedVia.API)
    if result.errors:
        raise ApiError(
            422,
            _("The contact could not be stored"),
            details=[(e.column, e.message) for e in result.errors],
        )
    contact = _contacts(caller.workspace).get(external_id=external_id)
    return contact_out(contact, pii=caller.sees_pii)


@router.post(
    "/bulk",
    response={200: ContactBulkOut, **COMMON_ERRORS},
    summary="Create or update up to 1,000 contacts",
    description=(
        "Each item is upserted by external_id (or by line_user_id for a LINE-only contact). "
        "Items that cannot be stored are reported in results[] with a path; the rest are "
        "stored. Sending the same items again changes nothing."
    ),
)
def bulk_upsert_contacts(request: HttpRequest, payload: ContactBulkIn) -> ContactBulkOut:
    return bulk_upsert(principal(request), payload)


def bulk_upsert(caller: Caller, payload: ContactBulkIn) -> ContactBulkOut:
    caller.require(Permission.EDIT)
    errors: dict[int, list[ErrorDetail]] = defaultdict(list)
    rows: list[ContactInput] = []
    for i, item in enumerate(payload.contacts):
        row, item_errors = to_input(
            item, row=i, path=f"contacts[{i}]", external_id=item.external_id
        )
        if row is None:
            errors[i].extend(item_errors)
        else:
            rows.append(row)
    result = upsert_contacts(caller.workspace, rows, source=TagSource.API, via=LinkedVia.API)
    refresh_stale_statistics(Contact, Tag, ContactTag)
    for error in result.errors:
        errors[error.row].append(
            ErrorDetail(
                path=join_path(f"contacts[{error.row}]", error.column), message=error.message
            )
        )
    return ContactBulkOut(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        merged=result.merged,
        failed=sum(1 for e in errors.values() if e),
        results=item_results(len(payload.contacts), errors, _ids(caller.workspace, rows)),
    )


@router.get("/{contact_id}", response={200: ContactOut, **COMMON_ERRORS}, summary="Get a contact")
def get_contact(request: HttpRequest, contact_id: int) -> ContactOut:
    return get(principal(request), contact_id)


def get(caller: Caller, contact_id: int) -> ContactOut:
    caller.require(Permission.VIEW)
    contact = _contacts(caller.workspace).get(pk=contact_id)
    return contact_out(contact, pii=caller.sees_pii)


@router.post(
    "/{contact_id}/unlink",
    response={200: ContactUnlinkedOut, 409: ErrorOut, **COMMON_ERRORS},
    summary="Unlink the contact's LINE account",
    description=(
        "The customer record keeps its data and loses its LINE identity; the LINE friend stays "
        "a friend, as a new friend-only contact (friend_contact). 409 when nothing is linked."
    ),
)
def unlink_contact(request: HttpRequest, contact_id: int) -> ContactUnlinkedOut:
    return unlink(principal(request), contact_id)


def unlink(caller: Caller, contact_id: int) -> ContactUnlinkedOut:
    caller.require(Permission.EDIT)
    contact = Contact.objects.in_workspace(caller.workspace).get(pk=contact_id)
    try:
        done = privacy.unlink_contact(caller.workspace, contact, label=caller.label)
    except privacy.PrivacyRefused as exc:
        raise ApiError(409, str(exc), code="not_linked") from exc
    return ContactUnlinkedOut(contact=done.contact_id, friend_contact=done.friend_contact_id)


@router.delete(
    "/{contact_id}",
    response={200: ContactDeletedOut, **COMMON_ERRORS},
    summary="Delete a contact and their personal data (a deletion request)",
    description=(
        "Needs the delete scope. Removes the person's data for good: the record, tags, events, "
        "audience memberships and stored LINE events; campaign results and click totals keep "
        "their counts without naming the person. Audited."
    ),
)
def delete_contact(request: HttpRequest, contact_id: int) -> ContactDeletedOut:
    return delete(principal(request), contact_id)


def delete(caller: Caller, contact_id: int) -> ContactDeletedOut:
    caller.require(Permission.DELETE_CONTACTS)
    contact = Contact.objects.in_workspace(caller.workspace).get(pk=contact_id)
    done = privacy.delete_contact(caller.workspace, contact, label=caller.label)
    return ContactDeletedOut(contact=done.contact_id, deleted=True, removed=done.removed)


def _ids(workspace: Workspace, rows: list[ContactInput]) -> dict[int, int]:
    """Contact ID per item index, in two queries (by customer number, by LINE user ID)."""
    contacts = Contact.objects.in_workspace(workspace)
    by_ext = dict(
        contacts.filter(external_id__in=[r.external_id for r in rows if r.external_id]).values_list(
            "external_id", "pk"
        )
    )
    by_line = dict(
        contacts.filter(
            line_user_id__in=[r.line_user_id for r in rows if not r.external_id and r.line_user_id]
        ).values_list("line_user_id", "pk")
    )
    ids: dict[int, int] = {}
    for r in rows:
        found = by_ext.get(r.external_id) if r.external_id else by_line.get(r.line_user_id)
        if found is not None:
            ids[r.row] = found
    return ids


def _pairs(errors: list[ErrorDetail]) -> list[tuple[str, str]]:
    return [(e.path, e.message) for e in errors]
