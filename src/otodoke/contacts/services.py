"""Named functions that change contacts, tags and events. Each runs in one transaction, and
bulk work is set-based: a few queries per chunk of rows, never a query per row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts.inputs import (
    BASELINE_FIELDS,
    CONTACT_FIELDS,
    ContactInput,
    EventInput,
    LinkInput,
    Result,
    RowError,
)
from otodoke.contacts.merging import MergeConflict, merge_contact_pairs, merge_contacts
from otodoke.contacts.models import (
    LINE_USER_ID_RE,
    Contact,
    Event,
    LinkedVia,
    TagSource,
    validate_event_kind,
)
from otodoke.contacts.rollups import recompute_rollups as _recompute
from otodoke.contacts.tagging import LINE_TAG, add_tag_pairs, add_tags, remove_tags
from otodoke.workspaces.models import Workspace

__all__ = [
    "LinkConflict",
    "MergeConflict",
    "add_tags",
    "ingest_events",
    "link_line_user",
    "link_line_users",
    "merge_contacts",
    "recompute_rollups",
    "remove_tags",
    "upsert_contacts",
]

CHUNK = 2000
T = TypeVar("T")

# Written with every changed row besides the fields the rows provide; unchanged rows are
# never written. (updated_at last: it is written, never read.)
_ALWAYS_WRITTEN = ["attributes", "baseline_at", "consent_updated_at", "updated_at"]


class LinkConflict(Exception):  # noqa: N818 - a domain outcome callers catch
    """The LINE user ID is already linked to another customer, or the contact to another ID."""


def chunked[T](items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


@transaction.atomic
def recompute_rollups(contact_ids: Iterable[int]) -> int:
    return _recompute(contact_ids)


def _apply(contact: Contact, row: ContactInput, now: datetime, as_of: datetime) -> bool:
    """Set the row's values on `contact`; True when anything changed."""
    changed = False
    baseline_changed = False
    for name, value in row.values.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            changed = True
            if name in BASELINE_FIELDS:
                baseline_changed = True
            elif name == "marketing_consent":
                contact.consent_updated_at = now
    if row.attributes:
        merged = {**contact.attributes, **row.attributes}
        if merged != contact.attributes:
            contact.attributes = merged
            changed = True
    if baseline_changed:
        # The POS snapshot moved: later events count on top of it from now on.
        contact.baseline_at = as_of
    if changed:
        contact.updated_at = now
    return changed


def _link_blockers(
    workspace: Workspace, rows: list[ContactInput], existing: dict[str, Contact]
) -> tuple[dict[int, RowError], set[int]]:
    """Rows whose LINE user ID cannot be linked (rejected whole, before anything is written)
    and rows that will link. Read-only: the linking itself happens after the upsert."""
    wanted = [r.line_user_id for r in rows if r.external_id and r.line_user_id]
    if not wanted:
        return {}, set()
    holders = {
        c.line_user_id: c
        for c in Contact.objects.filter(workspace=workspace, line_user_id__in=wanted)
    }
    errors: dict[int, RowError] = {}
    linking: set[int] = set()
    claimed: set[str] = set()
    for row in rows:
        if not (row.external_id and row.line_user_id):
            continue
        contact = existing.get(row.external_id) or Contact(workspace=workspace)
        checked = _check_link(contact, row.line_user_id, holders.get(row.line_user_id))
        if row.line_user_id in claimed:
            checked = _("Linked twice in the same file")
        if isinstance(checked, str):
            errors[row.row] = RowError(row.row, "line_user_id", checked)
        elif checked[0] != "same":
            linking.add(row.row)
        claimed.add(row.line_user_id)
    return errors, linking


def _upsert_chunk(
    workspace: Workspace, rows: list[ContactInput], key: str, now: datetime, as_of: datetime
) -> tuple[Result, list[tuple[ContactInput, Contact]]]:
    result = Result()
    keys = [getattr(r, key) for r in rows]
    # Only the columns this chunk can change (plus identity) are read and written: building
    # full model instances for every stored row would cost more than the whole import.
    fields = sorted({name for r in rows for name in r.values})
    read = ["pk", "external_id", "line_user_id", *_ALWAYS_WRITTEN[:-1], *fields]
    existing = {
        values[key]: Contact(workspace_id=workspace.pk, **values)
        for values in Contact.objects.filter(workspace=workspace, **{f"{key}__in": keys}).values(
            *read
        )
    }
    blocked, linking = (
        _link_blockers(workspace, rows, existing) if key == "external_id" else ({}, set())
    )
    result.errors.extend(blocked.values())
    write: list[Contact] = []
    placed: list[tuple[ContactInput, Contact]] = []
    rollup_ids: list[Contact] = []
    for row in rows:
        if row.row in blocked:
            continue
        contact = existing.get(getattr(row, key))
        if contact is None:
            contact = Contact(workspace=workspace, created_at=now)
            setattr(contact, key, getattr(row, key))
            _apply(contact, row, now, as_of)
            if "marketing_consent" in row.values:
                contact.consent_updated_at = now
            write.append(contact)
            result.created += 1
            if any(f in row.values for f in BASELINE_FIELDS):
                rollup_ids.append(contact)
        elif _apply(contact, row, now, as_of):
            write.append(contact)
            result.updated += 1
            if contact.baseline_at == as_of:
                rollup_ids.append(contact)
        elif row.row in linking:
            result.updated += 1  # only its LINE link changes
        else:
            result.unchanged += 1
        placed.append((row, contact))
    if write:
        # ON CONFLICT DO UPDATE also covers a row another process inserted since we read.
        Contact.objects.bulk_create(
            write,
            update_conflicts=True,
            unique_fields=["workspace", key],
            update_fields=[*fields, *_ALWAYS_WRITTEN],
        )
    _recompute(c.pk for c in rollup_ids)
    result.contact_ids = {c.pk for c in write}
    return result, placed


def upsert_contacts(
    workspace: Workspace,
    rows: Iterable[ContactInput],
    *,
    source: TagSource | str = TagSource.API,
    as_of: datetime | None = None,
    via: LinkedVia | str = LinkedVia.IMPORT,
) -> Result:
    """Create or update contacts by customer number (or LINE user ID for a LINE-only contact).

    Rows are compared with what is stored and only real changes are written, so sending the
    same rows again changes nothing (not even `updated_at`). Tags are added with `source`; a
    row with both a customer number and a LINE user ID links them (merging a LINE-only contact
    that holds the ID); a row whose ID cannot be linked is rejected whole. `as_of` is when the
    rows' rollup baseline (最終来店日, 来店回数 …) was true; default now.
    """
    now = timezone.now()
    as_of = as_of or now
    total = Result()
    for chunk in chunked(rows, CHUNK):
        with transaction.atomic():
            by_external = [r for r in chunk if r.external_id]
            by_line = [r for r in chunk if not r.external_id and r.line_user_id]
            for r in chunk:
                if not r.external_id and not r.line_user_id:
                    total.errors.append(
                        RowError(r.row, "external_id", _("A customer number is required"))
                    )
            placed: list[tuple[ContactInput, Contact]] = []
            for key, group in (("external_id", by_external), ("line_user_id", by_line)):
                if group:
                    result, done = _upsert_chunk(workspace, group, key, now, as_of)
                    total.add(result)
                    placed.extend(done)
            tag_pairs = [(c.pk, t) for r, c in placed for t in r.tags]
            if tag_pairs:
                add_tag_pairs(workspace, tag_pairs, source=source, at=now)
            links = [
                LinkInput(row=r.row, line_user_id=r.line_user_id, contact_id=c.pk)
                for r, c in placed
                if r.external_id and r.line_user_id and c.line_user_id != r.line_user_id
            ]
            if links:
                linked = _link_chunk(workspace, links, via=via, when=now)
                total.errors.extend(linked.errors)
                total.merged += linked.merged
                total.contact_ids |= linked.contact_ids
    return total


def _check_link(
    contact: Contact, user_id: str, holder: Contact | None
) -> tuple[str, Contact | None] | str:
    """("link", None) / ("merge", holder) / ("same", None), or an error message."""
    if not LINE_USER_ID_RE.match(user_id):
        return _("A LINE user ID is “U” followed by 32 hexadecimal characters")
    if contact.line_user_id == user_id:
        return ("same", None)
    if contact.line_user_id:
        return _("The contact is already linked to another LINE user ID")
    if holder is None:
        return ("link", None)
    if holder.external_id is None:
        return ("merge", holder)
    return _("This LINE user ID is already linked to customer %(id)s") % {"id": holder.external_id}


def link_line_users(
    workspace: Workspace,
    links: Sequence[LinkInput],
    *,
    via: LinkedVia | str,
    at: datetime | None = None,
) -> Result:
    """Link customers (by contact ID or customer number) to LINE user IDs, set-based. A LINE-only
    contact already holding the ID is merged into the customer; linked contacts get the `line`
    tag. A row that cannot be linked is reported and the others still land."""
    when = at or timezone.now()
    total = Result()
    for chunk in chunked(links, CHUNK):
        with transaction.atomic():
            total.add(_link_chunk(workspace, chunk, via=via, when=when))
    return total


def _link_chunk(
    workspace: Workspace, chunk: list[LinkInput], *, via: str, when: datetime
) -> Result:
    result = Result()
    contacts = Contact.objects.filter(workspace=workspace)
    by_pk = {c.pk: c for c in contacts.filter(pk__in=[x.contact_id for x in chunk if x.contact_id])}
    by_ext = {
        c.external_id: c
        for c in contacts.filter(external_id__in=[x.external_id for x in chunk if x.external_id])
    }
    holders = {
        c.line_user_id: c for c in contacts.filter(line_user_id__in=[x.line_user_id for x in chunk])
    }
    claimed: dict[str, int] = {}
    claimed_contacts: set[int] = set()
    plain: list[Contact] = []
    merges: list[tuple[Contact, Contact]] = []
    for link in chunk:
        contact = by_pk.get(link.contact_id or 0) or by_ext.get(link.external_id or "")
        if contact is None:
            result.errors.append(
                RowError(link.row, "external_id", _("No customer with this customer number"))
            )
            continue
        if link.line_user_id in claimed or contact.pk in claimed_contacts:
            result.errors.append(
                RowError(link.row, "line_user_id", _("Linked twice in the same file"))
            )
            continue
        checked = _check_link(contact, link.line_user_id, holders.get(link.line_user_id))
        if isinstance(checked, str):
            result.errors.append(RowError(link.row, "line_user_id", checked))
            continue
        claimed[link.line_user_id] = contact.pk
        claimed_contacts.add(contact.pk)
        action, holder = checked
        if action == "same":
            result.unchanged += 1
        elif action == "merge" and holder is not None:
            merges.append((contact, holder))
            result.merged += 1
            result.updated += 1
        else:
            contact.line_user_id = link.line_user_id
            contact.line_linked_at = when
            contact.line_linked_via = via
            contact.updated_at = when
            plain.append(contact)
            result.updated += 1
        result.contact_ids.add(contact.pk)
    if merges:
        merge_contact_pairs(merges, via=via, at=when)
    if plain:
        Contact.objects.bulk_update(
            plain, ["line_user_id", "line_linked_at", "line_linked_via", "updated_at"]
        )
    add_tag_pairs(
        workspace, ((cid, LINE_TAG) for cid in result.contact_ids), source=TagSource.AUTO, at=when
    )
    return result


def link_line_user(
    contact: Contact,
    user_id: str,
    *,
    via: LinkedVia | str,
    at: datetime | None = None,
) -> Contact:
    """Link one contact to a LINE user ID (merging a LINE-only contact holding it)."""
    result = link_line_users(
        contact.workspace, [LinkInput(line_user_id=user_id, contact_id=contact.pk)], via=via, at=at
    )
    if result.errors:
        error = result.errors[0]
        if error.column == "line_user_id" and not LINE_USER_ID_RE.match(user_id):
            raise ValidationError(error.message)
        raise LinkConflict(error.message)
    contact.refresh_from_db()
    return contact


_EVENT_FIELDS = ("contact_id", "kind", "occurred_at", "amount", "properties", "source")


def _resolve_contacts(
    workspace: Workspace, chunk: list[EventInput], result: Result
) -> list[EventInput]:
    wanted = {e.contact_external_id for e in chunk if e.contact_id is None}
    ids = dict(
        Contact.objects.filter(workspace=workspace, external_id__in=wanted).values_list(
            "external_id", "pk"
        )
    )
    ok: list[EventInput] = []
    for event in chunk:
        if event.contact_id is None:
            found = ids.get(event.contact_external_id or "")
            if found is None:
                result.errors.append(
                    RowError(event.row, "customer_id", _("No customer with this customer number"))
                )
                continue
            event.contact_id = found
        try:
            validate_event_kind(event.kind)
        except ValidationError as exc:
            result.errors.append(RowError(event.row, "kind", " ".join(exc.messages)))
            continue
        if event.occurred_at is None or timezone.is_naive(event.occurred_at):
            result.errors.append(RowError(event.row, "occurred_at", _("A time zone is needed")))
            continue
        ok.append(event)
    return ok


def _event_fields(event: EventInput) -> dict[str, Any]:
    """The stored fields of a resolved event (contact and aware time already checked)."""
    return {name: getattr(event, name) for name in _EVENT_FIELDS}


def _ingest_chunk(workspace: Workspace, chunk: list[EventInput], result: Result) -> set[int]:
    events = _resolve_contacts(workspace, chunk, result)
    keyed: dict[str, EventInput] = {}
    unkeyed: list[EventInput] = []
    for event in events:
        if event.external_id:
            if event.external_id in keyed:
                # The same event twice in one batch: the later one wins, counted once.
                result.unchanged += 1
            keyed[event.external_id] = event
        else:
            unkeyed.append(event)
    stored = {
        row["external_id"]: row
        for row in Event.objects.filter(workspace=workspace, external_id__in=list(keyed)).values(
            "external_id", *_EVENT_FIELDS
        )
    }
    affected: set[int] = set()
    write: list[Event] = []
    for ext_id, event in keyed.items():
        new = _event_fields(event)
        old = stored.get(ext_id)
        if old is not None and all(old[k] == v for k, v in new.items()):
            result.unchanged += 1
            continue
        if old is None:
            result.created += 1
        else:
            result.updated += 1
            affected.add(old["contact_id"])  # a corrected event may move to another contact
        affected.add(event.contact_id or 0)
        write.append(Event(workspace=workspace, external_id=ext_id, **new))
    if write:
        Event.objects.bulk_create(
            write,
            update_conflicts=True,
            unique_fields=["workspace", "external_id"],
            update_fields=list(_EVENT_FIELDS),
        )
    if unkeyed:
        Event.objects.bulk_create([Event(workspace=workspace, **_event_fields(e)) for e in unkeyed])
        result.created += len(unkeyed)
        affected.update(e.contact_id or 0 for e in unkeyed)
    affected.discard(0)
    return affected


def ingest_events(
    workspace: Workspace, events: Iterable[EventInput], *, recompute: bool = True
) -> Result:
    """Store events, idempotent by `external_id` (same ID again: unchanged, or corrected in
    place when its data differ). Rollups of every contact whose events changed are recomputed,
    per chunk; an importer passes recompute=False and recomputes once at the end."""
    total = Result()
    for chunk in chunked(events, CHUNK * 2):
        with transaction.atomic():
            result = Result()
            affected = _ingest_chunk(workspace, chunk, result)
            if recompute:
                _recompute(affected)
            result.contact_ids = affected
            total.add(result)
    return total


def contact_values(contact: Contact) -> dict[str, Any]:
    """The upsertable fields of a stored contact (for comparisons in tests and the API)."""
    return {name: getattr(contact, name) for name in CONTACT_FIELDS}
