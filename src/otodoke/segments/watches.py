"""Segment watches: who *entered* and who *left* a segment definition since the last look.

A watch belongs to one owner in another domain (a scenario version's "entered a segment"
trigger, a rich-menu rule) and keeps the contacts that matched at the last evaluation as
`SegmentWatchMember` rows. Evaluating it again is a diff done in SQL, in one transaction:

* **left**: ``DELETE FROM member WHERE watch = w AND NOT EXISTS (contact matches) RETURNING``;
* **entered**: ``SELECT … FROM (matching contacts) WHERE NOT EXISTS (already a member)``,
  then one ``INSERT … SELECT FROM unnest(ids)`` (``json_each`` on SQLite); for a watch with
  nobody inside (the first evaluation) straight ``INSERT … SELECT … RETURNING``.

Both statements are the compiled segment query (`compiler.compile_definition`, the same one a
send uses) joined against the member table, so no contact row passes through Python except
the IDs that changed (which the caller gets back). The number of queries does not depend on
the number of contacts.

Two ways in:

* `refresh(watch, now)`: the full evaluation, run on a schedule (the scenario tick). It is the
  one that sees time-dependent changes nobody wrote: a birthday that makes someone 30, a last
  visit that became "more than 60 days ago".
* `refresh_contacts(watch, contact_ids, now)`: only the given contacts, called right after
  their events, tags or attributes changed, so a trigger reacts in seconds without a scan.

The first full evaluation of a watch with ``baseline=True`` (the default) records who matches
without reporting them as entered: a scenario triggered by "entered a segment" then starts
only for people who begin to match after it was activated, not for everyone who already did.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from otodoke.contacts.models import Contact, ContactTag, Event
from otodoke.core.statistics import refresh_stale_statistics
from otodoke.segments.models import SegmentWatch, SegmentWatchMember
from otodoke.segments.schema import parse_definition
from otodoke.segments.services import contacts_matching
from otodoke.workspaces.models import Workspace

# The tables a segment query reads the most; analysed first when they changed a lot, so the
# planner does not guess on a freshly imported million rows.
_READ_TABLES = (Contact, Event, ContactTag, SegmentWatchMember)


class WatchDiff(NamedTuple):
    """The contacts who started and who stopped matching, sorted by ID; unpacks as
    ``entered, left = refresh(...)``."""

    entered: list[int]
    left: list[int]

    def __bool__(self) -> bool:
        return bool(self.entered or self.left)


def ensure_watch(
    workspace: Workspace,
    owner_kind: str,
    owner_id: int,
    definition: Any,
    *,
    baseline: bool = True,
) -> SegmentWatch:
    """The owner's watch, created on first use. A changed definition replaces the old one and
    keeps the members: the next refresh reports who entered and left under the new one.

    Raises `schema.DefinitionError` for an invalid definition; then nothing is written."""
    data = parse_definition(definition).model_dump(mode="json", exclude_none=True)
    with transaction.atomic():
        watch, created = SegmentWatch.objects.select_for_update().get_or_create(
            owner_kind=owner_kind,
            owner_id=owner_id,
            defaults={"workspace": workspace, "definition": data, "baseline": baseline},
        )
        if watch.workspace_id != workspace.pk:
            raise ValueError(f"{watch.owner} belongs to another workspace")
        if not created and watch.definition != data:
            watch.definition = data
            watch.save(update_fields=["definition"])
    return watch


def drop_watch(owner_kind: str, owner_id: int) -> None:
    """Forget the owner's watch and its members (the owner was archived or deleted)."""
    SegmentWatch.objects.filter(owner_kind=owner_kind, owner_id=owner_id).delete()


def watch_for(owner_kind: str, owner_id: int) -> SegmentWatch | None:
    return SegmentWatch.objects.filter(owner_kind=owner_kind, owner_id=owner_id).first()


def members(watch: SegmentWatch) -> QuerySet[Contact]:
    """The contacts in the watch at its last evaluation."""
    return Contact.objects.filter(
        Exists(SegmentWatchMember.objects.filter(watch=watch, contact=OuterRef("pk")))
    )


def _lock(watch: SegmentWatch) -> SegmentWatch:
    """Re-read and lock the watch row: a full and an incremental refresh of one watch take
    turns (PostgreSQL row lock; SQLite's write lock does the same), so neither inserts a
    member the other just inserted."""
    return (
        SegmentWatch.objects.select_for_update(of=("self",))
        .select_related("workspace")
        .get(pk=watch.pk)
    )


def _sql(qs: QuerySet[Any]) -> tuple[str, tuple[Any, ...]]:
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    return sql, tuple(params)


def _diff(
    watch: SegmentWatch, now: dt.datetime, contact_ids: Sequence[int] | None, *, report: bool
) -> WatchDiff:
    """Delete the members who no longer match and insert those who newly do, both in SQL.
    `contact_ids` limits both statements to those contacts (None: everyone)."""
    matching = contacts_matching(watch.workspace, watch.definition, now=now)
    current = SegmentWatchMember.objects.filter(watch_id=watch.pk)
    if contact_ids is not None:
        matching = matching.filter(pk__in=contact_ids)
        current = current.filter(contact_id__in=contact_ids)
    table = connection.ops.quote_name(SegmentWatchMember._meta.db_table)

    # Left first, while the member table's statistics still describe it.
    gone = current.filter(~Exists(matching.filter(pk=OuterRef("contact_id")))).values("pk")
    gone_sql, gone_params = _sql(gone)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE id IN ({gone_sql}) RETURNING contact_id",  # noqa: S608
            gone_params,
        )
        left = sorted(row[0] for row in cursor.fetchall())

    entered_at = connection.ops.adapt_datetimefield_value(now)
    if not current.exists():
        # Nobody inside (a first evaluation, or everyone left): every match is new, and the
        # INSERT … SELECT need not look at the table it writes.
        new_sql, new_params = _sql(matching.values(contact=F("pk")))
        with connection.cursor() as cursor:
            # Table name from _meta; the SELECT is the compiled ORM query with its params.
            cursor.execute(
                f"INSERT INTO {table} (watch_id, contact_id, entered_at) "  # noqa: S608
                f"SELECT %s, fresh.contact, %s FROM ({new_sql}) fresh RETURNING contact_id",
                (watch.pk, entered_at, *new_params),
            )
            entered = sorted(row[0] for row in cursor.fetchall())
        return WatchDiff(entered=entered if report else [], left=left if report else [])

    # The new members are found first, then inserted in one statement: an INSERT whose own
    # NOT EXISTS reads the table it is filling makes PostgreSQL rescan the growing heap for
    # every row (quadratic, seen at 30,000 contacts) when its statistics call it small.
    new = matching.filter(
        ~Exists(SegmentWatchMember.objects.filter(watch_id=watch.pk, contact=OuterRef("pk")))
    ).values_list("pk", flat=True)
    entered = sorted(new)
    if entered:
        _insert_members(table, watch.pk, entered_at, entered)
    return WatchDiff(entered=entered if report else [], left=left if report else [])


def _insert_members(table: str, watch_id: int, entered_at: Any, contact_ids: list[int]) -> None:
    """One INSERT for any number of contacts: the IDs travel as one array parameter
    (PostgreSQL ``unnest``, SQLite ``json_each``), so there is no per-row statement and no
    limit on bound variables."""
    ids: list[int] | str
    if connection.vendor == "postgresql":
        source, ids = "unnest(%s::bigint[]) AS ids(value)", contact_ids
    else:
        source, ids = "json_each(%s) AS ids", json.dumps(contact_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (watch_id, contact_id, entered_at) "  # noqa: S608
            f"SELECT %s, ids.value, %s FROM {source}",
            (watch_id, entered_at, ids),
        )


def refresh(watch: SegmentWatch, now: dt.datetime | None = None) -> WatchDiff:
    """Evaluate the whole workspace against the watch and return who entered and who left.

    The first evaluation of a baselining watch reports nobody (see the module docstring).
    Raises `schema.DefinitionError` when the definition no longer compiles (e.g. it names a
    deleted segment); then nothing changes."""
    instant = now or timezone.now()
    with transaction.atomic():
        locked = _lock(watch)
        refresh_stale_statistics(*_READ_TABLES)
        first = locked.last_evaluated_at is None
        diff = _diff(locked, instant, None, report=not (first and locked.baseline))
        locked.last_evaluated_at = instant
        locked.save(update_fields=["last_evaluated_at"])
    # A first evaluation may have inserted a million members: the next diff is planned on
    # current numbers.
    refresh_stale_statistics(SegmentWatchMember)
    watch.last_evaluated_at = instant
    return diff


def refresh_contacts(
    watch: SegmentWatch, contact_ids: Iterable[int], now: dt.datetime | None = None
) -> WatchDiff:
    """Re-evaluate only `contact_ids` (after their data changed) and return who of them
    entered and who left. A watch never evaluated in full gets its full (baseline) evaluation
    instead, so contacts who matched before activation are not reported as entering."""
    ids = sorted({int(i) for i in contact_ids})
    instant = now or timezone.now()
    with transaction.atomic():
        locked = _lock(watch)
        if locked.last_evaluated_at is None:
            return refresh(watch, instant)
        if not ids:
            return WatchDiff(entered=[], left=[])
        return _diff(locked, instant, ids, report=True)


def refresh_workspace_contacts(
    workspace: Workspace,
    contact_ids: Iterable[int],
    now: dt.datetime | None = None,
    *,
    owner_kind: str | None = None,
) -> dict[tuple[str, int], WatchDiff]:
    """`refresh_contacts` for every watch of the workspace (or of one owner kind); the
    non-empty diffs by (owner_kind, owner_id). What an event, tag or attribute change calls."""
    ids = sorted({int(i) for i in contact_ids})
    watches = SegmentWatch.objects.filter(workspace=workspace).order_by("pk")
    if owner_kind is not None:
        watches = watches.filter(owner_kind=owner_kind)
    results = {}
    for watch in watches:
        diff = refresh_contacts(watch, ids, now)
        if diff:
            results[(watch.owner_kind, watch.owner_id)] = diff
    return results
