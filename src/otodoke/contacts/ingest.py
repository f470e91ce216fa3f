"""Storing events, idempotent by external ID, with raw-SQL chunk writes (see `bulk`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts import bulk
from otodoke.contacts.inputs import EventInput, Result, RowError
from otodoke.contacts.models import Contact, Event, is_event_kind, validate_event_kind
from otodoke.contacts.rollups import recompute_rollups
from otodoke.contacts.signals import events_recorded
from otodoke.workspaces.models import Workspace

# Rows per transaction and per statement; below SQLite's parameter limit for the key lookups.
CHUNK = 10_000
# Compared with what is stored and written on change (besides workspace and external ID).
EVENT_FIELDS = ("contact_id", "kind", "occurred_at", "amount", "properties", "source")
_COLUMNS = ("workspace_id", "external_id", *EVENT_FIELDS, "created_at")


def _chunked[T](items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _resolve_contacts(
    workspace: Workspace, chunk: list[EventInput], result: Result
) -> list[EventInput]:
    wanted = [e.contact_external_id for e in chunk if e.contact_id is None]
    ids = bulk.ids_by_key(Contact, workspace.pk, "external_id", wanted)
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
        if not is_event_kind(event.kind):
            try:
                validate_event_kind(event.kind)  # raises, with the translated message
            except ValidationError as exc:
                result.errors.append(RowError(event.row, "kind", " ".join(exc.messages)))
                continue
        if event.occurred_at is None or timezone.is_naive(event.occurred_at):
            result.errors.append(RowError(event.row, "occurred_at", _("A time zone is needed")))
            continue
        ok.append(event)
    return ok


def _memo_dumps(dumps: bulk.Adapter) -> bulk.Adapter:
    """`dumps` remembering its text for properties of plain strings: a file repeats a few
    (メニュー: カット, カラー …) on millions of rows. Only all-str values are keyed, so 1 and
    True (equal as keys, different JSON) never share an entry."""
    memo: dict[tuple[tuple[str, str], ...], Any] = {}

    def cached(properties: Any) -> Any:
        if not isinstance(properties, dict) or len(properties) > 4:
            return dumps(properties)
        items = tuple(properties.items())
        if not all(type(k) is str and type(v) is str for k, v in items):
            return dumps(properties)
        found = memo.get(items)
        if found is None:
            found = dumps(properties)
            if len(memo) < 10_000:
                memo[items] = found
        return found

    return cached


def _ingest_chunk(
    workspace: Workspace,
    chunk: list[EventInput],
    result: Result,
    new_events: list[tuple[int, str, int | None, str, Any]],
) -> set[int]:
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
    at = bulk.adapter(Event, "occurred_at")
    now = at(timezone.now())
    # Stored rows in the database's own representation: compared as tuples, no model objects.
    stored = {
        row[0]: (*row[1:5], bulk.load_json(row[5]), row[6])
        for row in bulk.fetch_by_keys(Event, workspace.pk, "external_id", list(keyed), EVENT_FIELDS)
    }
    dumps = _memo_dumps(bulk.adapter(Event, "properties"))
    affected: set[int] = set()
    write: list[tuple[Any, ...]] = []
    for ext_id, event in keyed.items():
        new = (event.contact_id, event.kind, at(event.occurred_at), event.amount)
        old = stored.get(ext_id)
        if old is not None and old == (*new, event.properties, event.source):
            result.unchanged += 1
            continue
        if old is None:
            result.created += 1
        else:
            result.updated += 1
            affected.add(old[0])  # a corrected event may move to another contact
        affected.add(event.contact_id or 0)
        write.append((workspace.pk, ext_id, *new, dumps(event.properties), event.source, now))
    bulk.upsert(
        Event,
        _COLUMNS,
        write,
        conflict=("workspace_id", "external_id"),
        update=EVENT_FIELDS,
    )
    if unkeyed:
        bulk.upsert(
            Event,
            _COLUMNS,
            [
                (workspace.pk, None, e.contact_id, e.kind, at(e.occurred_at), e.amount, *tail)
                for e in unkeyed
                for tail in ((dumps(e.properties), e.source, now),)
            ],
        )
        result.created += len(unkeyed)
        affected.update(e.contact_id or 0 for e in unkeyed)
    affected.discard(0)
    fresh = [e for ext_id, e in keyed.items() if ext_id not in stored] + unkeyed
    new_events.extend(
        (e.contact_id, e.kind, e.amount, e.source, e.properties) for e in fresh if e.contact_id
    )
    return affected


def ingest_events(
    workspace: Workspace, events: Iterable[EventInput], *, recompute: bool = True
) -> Result:
    """Store events, idempotent by `external_id` (same ID again: unchanged, or corrected in
    place when its data differ). Rollups of every contact whose events changed are recomputed,
    per chunk; an importer passes recompute=False and recomputes once at the end."""
    total = Result()
    for chunk in _chunked(events, CHUNK):
        with transaction.atomic():
            result = Result()
            new_events: list[tuple[int, str, int | None, str, Any]] = []
            affected = _ingest_chunk(workspace, chunk, result, new_events)
            if recompute:
                recompute_rollups(affected)
            if new_events:
                # After the rollups, so listeners (scenario goals) see them current.
                events_recorded.send(sender=Event, workspace=workspace, events=new_events)
            result.contact_ids = affected
            total.add(result)
    return total
