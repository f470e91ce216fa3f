"""The events import: parse and check each chunk, bulk-load its valid rows into a staging table,
then apply the whole file with a few set-based statements.

Per chunk (`OTODOKE_IMPORT_CHUNK_ROWS` lines): cells are parsed in Python (dates in the
workspace's time zone, yen, kinds), customer numbers are resolved with one query, and every
rejected row is reported with its line, column and reason before the next chunk is read; the
valid rows go to the staging table through the database's bulk path (`staging`).

At the end, in SQL and inside the import's one transaction (a crash anywhere leaves nothing):

1. duplicate external event IDs collapse to the file's last row for that ID (counted once,
   the others as unchanged);
2. the rows that are new or differ from what is stored are picked by one join with the events
   table; everything else is unchanged, so a re-import writes nothing;
3. one ``INSERT … SELECT … ON CONFLICT DO UPDATE … WHERE <differs>`` writes them;
4. the rollups of the touched contacts only (new and, for a moved event, old) are recomputed
   with one set-based statement (`rollups.recompute_rollups_of_table`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts import bulk
from otodoke.contacts import cleaning as c
from otodoke.contacts.imports import rows as row_parsers
from otodoke.contacts.imports.reading import ColumnMap, CsvSource
from otodoke.contacts.imports.staging import Staging, chunk_rows, q
from otodoke.contacts.inputs import RowError
from otodoke.contacts.models import (
    Contact,
    Event,
    EventKind,
    is_event_kind,
    validate_event_kind,
)
from otodoke.contacts.rollups import col, recompute_rollups_of_table
from otodoke.contacts.signals import events_recorded
from otodoke.workspaces.models import Workspace

if TYPE_CHECKING:
    from otodoke.contacts.imports.runner import ImportReport, Progress

SOURCE = "import"
# Keys per customer-number lookup: below SQLite's parameter limit.
_LOOKUP = 10_000
# Fresh events handed to `events_recorded` listeners per signal.
_SIGNAL_BATCH = 10_000

_STAGE_COLUMNS = (
    ("external_id", "text", "TEXT"),
    ("contact_id", "bigint", "INTEGER"),
    ("kind", "text", "TEXT"),
    ("occurred_at", "timestamptz", "TEXT"),
    ("amount", "bigint", "INTEGER"),
    ("properties", "jsonb", "TEXT"),
)
# Compared with what is stored; a row equal in all of them is unchanged.
_COMPARED = ("contact_id", "kind", "occurred_at", "amount", "properties")

# (line, external ID, customer number, kind, occurred_at, amount, properties JSON)
Parsed = tuple[int, str | None, str, str, Any, int | None, Any]


def _kind_checker() -> Callable[[str], str | None]:
    """None when `kind` is a valid event kind, else the (translated) reason; cached per kind."""
    seen: dict[str, str | None] = {}

    def check(kind: str) -> str | None:
        if kind not in seen:
            problem = None
            if not is_event_kind(kind):
                try:
                    validate_event_kind(kind)
                except ValidationError as exc:
                    problem = " ".join(exc.messages)
            seen[kind] = problem
        return seen[kind]

    return check


def _row_parser(
    columns: ColumnMap, tz: tzinfo, postgres: bool
) -> Callable[[int, list[str]], Parsed | None]:
    """A row → its staged values, or None when any cell is bad (the caller then asks
    `rows.event_row` for the exact errors, so messages never differ between the two paths).

    The common cells take a fast path checked to give what `rows.event_row` gives: plain
    ``YYYY-MM-DD HH:MM[:SS]`` times (the workspace's UTC offset looked up once per day),
    plain-digit yen, cached kinds, and remembered property JSON. Anything else goes through
    the same cleaning functions as before."""
    customer_of = columns.getter("customer_id")
    time_of = columns.getter("occurred_at")
    amount_of = columns.getter("amount")
    kind_of = columns.getter("kind")
    ext_of = columns.getter("external_id")
    item_of, category_of = columns.getter("item"), columns.getter("category")
    extras = list(columns.extras.items())
    visit = EventKind.VISIT.value
    offsets: dict[str, timedelta | None] = {}
    properties_json = _memo_dumps()

    def offset_of(day: str, naive: datetime) -> timedelta | None:
        """The zone's UTC offset for this whole day, or None if it changes during it."""
        if day not in offsets:
            first = naive.replace(hour=0, minute=0, second=0, microsecond=0)
            low = tz.utcoffset(first)
            high = tz.utcoffset(first + timedelta(hours=23, minutes=59, seconds=59))
            offsets[day] = low if low == high else None
        return offsets[day]

    def staged_time(raw: str) -> Any:
        moment: datetime | None = None
        if raw.isascii() and len(raw) in (16, 19) and raw[4] == "-" and raw[10] in " T":
            try:
                naive = datetime.fromisoformat(raw)
            except ValueError:
                naive = None
            if naive is not None and naive.tzinfo is None:
                offset = offset_of(raw[:10], naive)
                if offset is not None:
                    moment = naive - offset
        if moment is None:
            moment = c.clean_datetime(raw, tz).replace(tzinfo=None)
        # PostgreSQL: COPY text with an explicit UTC offset; SQLite: the text Django stores.
        return f"{moment}+00:00" if postgres else str(moment)

    def parse(line: int, cells: list[str]) -> Parsed | None:
        customer = customer_of(cells)
        raw_time = time_of(cells)
        if not customer or not raw_time:
            return None
        try:
            at = staged_time(raw_time)
            raw_amount = amount_of(cells)
            amount = (
                None
                if not raw_amount
                else int(raw_amount)
                if raw_amount.isdigit() and raw_amount.isascii()
                else c.clean_yen(raw_amount)
            )
        except c.CleanError:
            return None
        kind = row_parsers.clean_kind(kind_of(cells) or visit)
        properties: dict[str, str] = {}
        if item := item_of(cells):
            properties["item"] = item
        if category := category_of(cells):
            properties["category"] = category
        for key, index in extras:
            if index < len(cells) and cells[index]:
                properties[key] = cells[index].strip()
        return (
            line,
            ext_of(cells) or None,
            customer if customer.isascii() else c.nfkc(customer),
            kind,
            at,
            amount,
            properties_json(properties),
        )

    return parse


def import_events(
    workspace: Workspace,
    source: CsvSource,
    columns: ColumnMap,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    stage = Staging("otodoke_stage_event", _STAGE_COLUMNS).create()
    try:
        _load(workspace, source, columns, report, progress, stage)
        _apply(workspace, report, stage)
    finally:
        stage.drop()


def _load(
    workspace: Workspace,
    source: CsvSource,
    columns: ColumnMap,
    report: ImportReport,
    progress: Progress | None,
    stage: Staging,
) -> None:
    tz: tzinfo = workspace.tzinfo
    check_kind = _kind_checker()
    parse = _row_parser(columns, tz, connection.vendor == "postgresql")
    kind_column = columns.column_of("kind")
    size = chunk_rows()
    pending: list[Parsed] = []
    read = 0
    for line, cells in source.rows():
        report.rows += 1
        read += 1
        parsed = parse(line, cells)
        if parsed is None:
            errors = row_parsers.event_row(line, cells, columns, tz, SOURCE)
            # The fast path refuses only what the full parser refuses.
            assert isinstance(errors, list), f"line {line}: parsers disagree"
            report.add_errors(errors, cells)
        elif (problem := check_kind(parsed[3])) is not None:
            report.add_errors([RowError(line, kind_column, problem)], cells)
        else:
            pending.append(parsed)
            report.keep_cells(line, cells)
        if read >= size:
            _load_chunk(workspace, pending, columns, report, stage)
            report.flush_errors()
            pending, read = [], 0
            if progress:
                progress(source.position(), source.total_bytes, report)
    _load_chunk(workspace, pending, columns, report, stage)
    report.flush_errors()
    if progress:
        progress(source.total_bytes, source.total_bytes, report)


def _load_chunk(
    workspace: Workspace,
    pending: list[Parsed],
    columns: ColumnMap,
    report: ImportReport,
    stage: Staging,
) -> None:
    """Resolve the chunk's customer numbers (one query per 10,000), report the unknown ones,
    and bulk-load the rest."""
    if not pending:
        return
    wanted = list(dict.fromkeys(row[2] for row in pending))
    ids: dict[Any, int] = {}
    for start in range(0, len(wanted), _LOOKUP):
        ids.update(
            bulk.ids_by_key(Contact, workspace.pk, "external_id", wanted[start : start + _LOOKUP])
        )
    customer_column = columns.column_of("customer_id")
    unknown = _("No customer with this customer number")
    rows: list[tuple[Any, ...]] = []
    errors: list[RowError] = []
    for line, ext_id, customer, kind, occurred_at, amount, properties in pending:
        contact_id = ids.get(customer)
        if contact_id is None:
            errors.append(RowError(line, customer_column, unknown))
            continue
        rows.append((line, ext_id, contact_id, kind, occurred_at, amount, properties))
    report.add_errors(errors)
    stage.load(rows)


def _memo_dumps() -> Callable[[dict[str, Any]], Any]:
    """Properties as the staging column takes them (JSON text, as Django writes it), with the
    text remembered for the few distinct all-string ones a file repeats on millions of rows."""
    dumps = bulk.adapter(Event, "properties")
    memo: dict[tuple[tuple[str, str], ...], Any] = {}

    def cached(properties: dict[str, str]) -> Any:
        items = tuple(properties.items())
        found = memo.get(items)
        if found is None:
            found = dumps(properties)
            if len(memo) < 10_000:
                memo[items] = found
        return found

    return cached


def _apply(workspace: Workspace, report: ImportReport, stage: Staging) -> None:
    if not stage.loaded:
        return
    postgres = connection.vendor == "postgresql"
    write = Staging("otodoke_stage_event_write", ())
    touched = q("otodoke_stage_event_touched")
    event = q(Event._meta.db_table)
    e_ws, e_ext = col(Event, "workspace"), col(Event, "external_id")
    with connection.cursor() as cursor:
        if postgres:
            stage.analyze()
        # 1. Duplicate external IDs: the file's last row for each ID stands, counted once.
        dupes = (
            f"SELECT external_id, MAX(line) AS keep FROM {stage.table} "  # noqa: S608
            "WHERE external_id IS NOT NULL GROUP BY external_id HAVING COUNT(*) > 1"
        )
        if postgres:
            cursor.execute(
                f"DELETE FROM {stage.table} s USING ({dupes}) d "  # noqa: S608
                "WHERE s.external_id = d.external_id AND s.line <> d.keep"
            )
        else:
            cursor.execute(
                f"DELETE FROM {stage.table} WHERE line IN (SELECT s.line FROM "  # noqa: S608
                f"{stage.table} s JOIN ({dupes}) d ON s.external_id = d.external_id "
                "AND s.line <> d.keep)"
            )
        report.unchanged += max(0, cursor.rowcount)
        # 2. What is new or differs from the stored event (a NULL external ID is always new).
        if postgres:
            differs = (
                f"({', '.join(f'e.{col(Event, n)}' for n in (*_COMPARED, 'source'))}) "
                f"IS DISTINCT FROM ({', '.join(f's.{n}' for n in _COMPARED)}, %(source)s)"
            )
        else:
            differs = " OR ".join(
                [f"e.{col(Event, n)} IS NOT s.{n}" for n in _COMPARED]
                + [f"e.{col(Event, 'source')} IS NOT %(source)s"]
            )
        cursor.execute(f"DROP TABLE IF EXISTS {write.table}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {write.table} AS "  # noqa: S608 - identifiers only
            f"SELECT s.*, e.{col(Event, 'id')} AS old_id, e.{col(Event, 'contact')} AS old_contact "
            f"FROM {stage.table} s LEFT JOIN {event} e "
            f"ON e.{e_ws} = %(ws)s AND e.{e_ext} = s.external_id "
            f"WHERE e.{col(Event, 'id')} IS NULL OR {differs}",
            {"ws": workspace.pk, "source": SOURCE},
        )
        cursor.execute(
            f"SELECT COUNT(old_id), COUNT(*) FROM {write.table}"  # noqa: S608
        )
        updated, written = cursor.fetchone()
        cursor.execute(f"SELECT COUNT(*) FROM {stage.table}")  # noqa: S608
        staged = int(cursor.fetchone()[0])
        report.created += written - updated
        report.updated += updated
        report.unchanged += staged - written
        if written:
            _write(cursor, workspace, write, postgres)
            # 4. Rollups of the contacts whose events changed: the new ones and, for an event
            # moved to another contact, the old one.
            cursor.execute(f"DROP TABLE IF EXISTS {touched}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {touched} AS "  # noqa: S608
                f"SELECT contact_id FROM {write.table} UNION "
                f"SELECT old_contact FROM {write.table} WHERE old_contact IS NOT NULL"
            )
            if postgres:
                cursor.execute(f"ANALYZE {event}")
                cursor.execute(f"ANALYZE {touched}")
            recompute_rollups_of_table(touched)
            cursor.execute(f"DROP TABLE {touched}")
            _signal(cursor, workspace, write)
        write.drop()


def _write(cursor: Any, workspace: Workspace, write: Staging, postgres: bool) -> None:
    """3. One upsert of the new and changed rows, in file order."""
    event = q(Event._meta.db_table)
    targets = ["workspace", "external_id", *_COMPARED, "source", "created_at"]
    names = ", ".join(col(Event, n) for n in targets)
    updates = [col(Event, n) for n in (*_COMPARED, "source")]
    assignments = ", ".join(f"{n} = EXCLUDED.{n}" for n in updates)
    if postgres:
        differs = (
            f"({', '.join(f'{event}.{n}' for n in updates)}) IS DISTINCT FROM "
            f"({', '.join(f'EXCLUDED.{n}' for n in updates)})"
        )
    else:
        differs = " OR ".join(f"{event}.{n} IS NOT EXCLUDED.{n}" for n in updates)
    now = timezone.now()
    created = now if postgres else str(now.astimezone(UTC).replace(tzinfo=None))
    # `WHERE true`: SQLite needs a WHERE before ON CONFLICT in an INSERT … SELECT.
    cursor.execute(
        f"INSERT INTO {event} ({names}) "  # noqa: S608 - identifiers only, see module doc
        f"SELECT %(ws)s, external_id, {', '.join(_COMPARED)}, %(source)s, %(now)s "
        f"FROM {write.table} WHERE true ORDER BY line "
        f"ON CONFLICT ({col(Event, 'workspace')}, {col(Event, 'external_id')}) "
        f"DO UPDATE SET {assignments} WHERE {differs}",
        {"ws": workspace.pk, "source": SOURCE, "now": created},
    )


def _signal(cursor: Any, workspace: Workspace, write: Staging) -> None:
    """The newly stored events to `events_recorded` listeners (scenario goals), in batches,
    after the rollups so listeners see them current."""
    if not events_recorded.receivers:
        return
    cursor.execute(
        f"SELECT contact_id, kind, amount, properties FROM {write.table} "  # noqa: S608
        "WHERE old_id IS NULL ORDER BY line"
    )
    loaded: dict[Any, Any] = {}

    def properties(raw: Any) -> Any:
        # A file repeats a few property sets on millions of rows: parse each once (a copy
        # per event, so a listener changing one changes no other).
        if not isinstance(raw, str):
            return raw
        if raw not in loaded and len(loaded) < 10_000:
            loaded[raw] = bulk.load_json(raw)
        found = loaded.get(raw)
        return dict(found) if isinstance(found, dict) else bulk.load_json(raw)

    while batch := cursor.fetchmany(_SIGNAL_BATCH):
        events = [
            (contact, kind, amount, SOURCE, properties(props))
            for contact, kind, amount, props in batch
        ]
        events_recorded.send(sender=Event, workspace=workspace, events=events)
