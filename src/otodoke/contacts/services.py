"""Named functions that change contacts, tags and events. Each runs in one transaction, and
bulk work is set-based: a few queries per chunk of rows, never a query per row."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from itertools import islice
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts import bulk
from otodoke.contacts.ingest import ingest_events
from otodoke.contacts.inputs import (
    BASELINE_FIELDS,
    ContactInput,
    LinkInput,
    Result,
    RowError,
)
from otodoke.contacts.merging import MergeConflict, merge_contact_pairs, merge_contacts
from otodoke.contacts.models import (
    LINE_USER_ID_RE,
    Contact,
    LinkedVia,
    TagSource,
)
from otodoke.contacts.rollups import recompute_rollups as _recompute
from otodoke.contacts.signals import contacts_changed
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

CHUNK = 5000
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


def _apply(
    stored: dict[str, Any], values: dict[str, Any], row: ContactInput, now: Any, as_of: Any
) -> tuple[bool, bool]:
    """Set the row's (adapted) values on a stored row; (anything changed, baseline changed)."""
    changed = False
    baseline_changed = False
    for name, value in values.items():
        if stored[name] != value:
            stored[name] = value
            changed = True
            if name in BASELINE_FIELDS:
                baseline_changed = True
            elif name == "marketing_consent":
                stored["consent_updated_at"] = now
    if row.attributes:
        merged = {**stored["attributes"], **row.attributes}
        if merged != stored["attributes"]:
            stored["attributes"] = merged
            changed = True
    if baseline_changed:
        # The POS snapshot moved: later events count on top of it from now on.
        stored["baseline_at"] = as_of
    if changed:
        stored["updated_at"] = now
    return changed, baseline_changed


def _link_blockers(
    workspace: Workspace, rows: list[ContactInput], existing: dict[str, dict[str, Any]]
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
        stored = existing.get(row.external_id)
        contact = Contact(line_user_id=stored["line_user_id"] if stored else None)
        checked = _check_link(contact, row.line_user_id, holders.get(row.line_user_id))
        if row.line_user_id in claimed:
            checked = _("Linked twice in the same file")
        if isinstance(checked, str):
            errors[row.row] = RowError(row.row, "line_user_id", checked)
        elif checked[0] != "same":
            linking.add(row.row)
        claimed.add(row.line_user_id)
    return errors, linking


def _new_contact(workspace: Workspace, key: str, value: str, now: Any) -> dict[str, Any]:
    """A new row with every column at the model's default, adapted like a raw SELECT's."""
    row = dict(_adapted_defaults())
    row.update(workspace_id=workspace.pk, created_at=now, updated_at=now, attributes={})
    row[key] = value
    return row


@cache
def _adapted_defaults() -> dict[str, Any]:
    """The defaults adapted once; `attributes` (the one mutable default) is replaced per row."""
    return {name: adapt(default) for name, (default, adapt) in _defaults().items()}


@cache
def _defaults() -> dict[str, tuple[Any, bulk.Adapter]]:
    return {
        f.attname: (f.get_default(), bulk.adapter(Contact, f.name))
        for f in Contact._meta.concrete_fields
        if not f.primary_key
    }


def _upsert_chunk(
    workspace: Workspace, rows: list[ContactInput], key: str, now: datetime, as_of: datetime
) -> tuple[Result, list[tuple[ContactInput, int, str | None]]]:
    result = Result()
    # Only the columns this chunk can change (plus identity) are read and written, raw and in
    # the database's representation: comparing tuples, not model instances (see `bulk`).
    fields = sorted({name for r in rows for name in r.values})
    adapters = {name: bulk.adapter(Contact, name) for name in (*fields, "updated_at")}
    now_db, as_of_db = adapters["updated_at"](now), adapters["updated_at"](as_of)
    read = ["id", "external_id", "line_user_id", *_ALWAYS_WRITTEN[:-1], *fields]
    existing: dict[str, dict[str, Any]] = {}
    for found in bulk.fetch_by_keys(
        Contact, workspace.pk, key, [getattr(r, key) for r in rows], read
    ):
        by_name = dict(zip(read, found[1:], strict=True))
        by_name["attributes"] = bulk.load_json(by_name["attributes"])
        existing[found[0]] = by_name
    blocked, linking = (
        _link_blockers(workspace, rows, existing) if key == "external_id" else ({}, set())
    )
    result.errors.extend(blocked.values())
    created: dict[str, dict[str, Any]] = {}
    changed: dict[int, dict[str, Any]] = {}
    placed: list[tuple[ContactInput, dict[str, Any]]] = []
    rollups: list[dict[str, Any]] = []
    for row in rows:
        if row.row in blocked:
            continue
        ident = getattr(row, key)
        values = {name: adapters[name](v) for name, v in row.values.items()}
        stored = existing.get(ident)
        if stored is None:
            stored = existing[ident] = created[ident] = _new_contact(workspace, key, ident, now_db)
            _changed, baseline = _apply(stored, values, row, now_db, as_of_db)
            if "marketing_consent" in row.values:
                stored["consent_updated_at"] = now_db
            result.created += 1
            if any(f in row.values for f in BASELINE_FIELDS):
                rollups.append(stored)
        else:
            is_changed, baseline = _apply(stored, values, row, now_db, as_of_db)
            if is_changed:
                if ident not in created:
                    changed[stored["id"]] = stored
                result.updated += 1
                if baseline:
                    rollups.append(stored)
            elif row.row in linking:
                result.updated += 1  # only its LINE link changes
            else:
                result.unchanged += 1
        placed.append((row, stored))
    written = [*fields, *_ALWAYS_WRITTEN]
    dumps = bulk.adapter(Contact, "attributes")

    def out(stored: dict[str, Any], name: str) -> Any:
        return dumps(stored[name]) if name == "attributes" else stored[name]

    if created:
        columns = list(_defaults())
        # ON CONFLICT DO UPDATE also covers a row another process inserted since we read.
        bulk.upsert(
            Contact,
            columns,
            [[out(c, name) for name in columns] for c in created.values()],
            conflict=("workspace_id", key),
            update=written,
            touch=("updated_at",),
        )
        for ident, pk in bulk.ids_by_key(Contact, workspace.pk, key, created).items():
            created[ident]["id"] = pk
    bulk.update_by_pk(
        Contact, written, [[*(out(c, n) for n in written), pk] for pk, c in changed.items()]
    )
    _recompute(c["id"] for c in rollups)
    result.contact_ids = {c["id"] for c in (*created.values(), *changed.values())}
    return result, [(r, c["id"], c["line_user_id"]) for r, c in placed]


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
            placed: list[tuple[ContactInput, int, str | None]] = []
            touched: set[int] = set()
            for key, group in (("external_id", by_external), ("line_user_id", by_line)):
                if group:
                    result, done = _upsert_chunk(workspace, group, key, now, as_of)
                    total.add(result)
                    placed.extend(done)
                    touched |= result.contact_ids
            if touched:
                contacts_changed.send(
                    sender=Contact, workspace=workspace, contact_ids=sorted(touched), at=now
                )
            tag_pairs = [(pk, t) for r, pk, _line in placed for t in r.tags]
            if tag_pairs:
                add_tag_pairs(workspace, tag_pairs, source=source, at=now)
            links = [
                LinkInput(row=r.row, line_user_id=r.line_user_id, contact_id=pk)
                for r, pk, line in placed
                if r.external_id and r.line_user_id and line != r.line_user_id
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
        # One prepared UPDATE per contact (executemany), not bulk_update's CASE per column
        # over the whole chunk, which cost seconds per 5,000 links.
        at_db = bulk.adapter(Contact, "line_linked_at")(when)
        bulk.update_by_pk(
            Contact,
            ["line_user_id", "line_linked_at", "line_linked_via", "updated_at"],
            [(c.line_user_id, at_db, via, at_db, c.pk) for c in plain],
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
