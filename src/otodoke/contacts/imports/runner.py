"""Run one CSV import: stream rows, validate them in Python, write chunks through the services."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _

from otodoke.contacts import services
from otodoke.contacts.imports import rows as row_parsers
from otodoke.contacts.imports.errors import ErrorReportFile
from otodoke.contacts.imports.events import import_events
from otodoke.contacts.imports.reading import (
    ColumnMap,
    CsvSource,
    ImportFileError,
    open_csv,
    resolve_mapping,
)
from otodoke.contacts.imports.staging import chunk_rows
from otodoke.contacts.inputs import ContactInput, LinkInput, Result, RowError
from otodoke.contacts.models import (
    Contact,
    ContactTag,
    Event,
    ImportKind,
    LinkedVia,
    Tag,
    TagSource,
)
from otodoke.contacts.signals import line_ids_imported
from otodoke.core.statistics import refresh_statistics
from otodoke.workspaces.models import Workspace

# Rows kept in the report's `errors` (the job page); error_count counts every bad row and the
# error file (`errors_path`) lists every one.
MAX_REPORTED_ERRORS = 1000

Progress = Callable[[int, int, "ImportReport"], None]
# Told the mapping chosen, (column, field) per column of the header, before any row is read.
MappingListener = Callable[[list[tuple[str, str]]], None]
# Tags named in the report (the most frequent first); `tag_count` counts them all.
MAX_REPORTED_TAGS = 100


@dataclass
class ImportReport:
    kind: str
    file_name: str
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    # (column, field) for each column of the file: what the import took it for ("-": ignored).
    mapping: list[tuple[str, str]] = field(default_factory=list)
    # tag name → rows naming it, among the valid rows of a contacts import.
    tags: Counter[str] = field(default_factory=Counter)
    error_file: ErrorReportFile | None = field(default=None, repr=False, compare=False)
    # The current chunk's rejected rows (with their cells) and the cells of its valid rows,
    # so errors go out in line order with the offending value; emptied by flush_errors().
    _pending: list[tuple[RowError, list[str] | None]] = field(
        default_factory=list, repr=False, compare=False
    )
    _chunk_cells: dict[int, list[str]] = field(default_factory=dict, repr=False, compare=False)

    def add(self, result: Result, columns: ColumnMap) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.merged += result.merged
        # Services name fields; the report names the file's columns.
        self.add_errors(
            RowError(e.row, columns.column_of(e.column), e.message) for e in result.errors
        )

    def add_errors(self, errors: Any, cells: list[str] | None = None) -> None:
        """Queue errors of the current chunk; `cells` is the row's (else looked up)."""
        for error in errors:
            self._pending.append((error, cells or self._chunk_cells.get(error.row)))

    def keep_cells(self, line: int, cells: list[str]) -> None:
        """Remember a valid row's cells until its chunk is flushed, in case a service rejects
        it and the error file needs the value (only when there is an error file)."""
        if self.error_file is not None:
            self._chunk_cells[line] = cells

    def flush_errors(self) -> None:
        """Count, keep (up to the cap) and write the chunk's errors, in line order."""
        self._pending.sort(key=lambda pending: pending[0].row)
        for error, cells in self._pending:
            self.error_count += 1
            if len(self.errors) < MAX_REPORTED_ERRORS:
                self.errors.append(error)
            if self.error_file is not None:
                self.error_file.write(error, cells)
        self._pending.clear()
        self._chunk_cells.clear()

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file_name,
            "encoding": self.encoding,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged": self.merged,
            "error_count": self.error_count,
            "errors": [e.as_dict() for e in sorted(self.errors, key=lambda e: e.row)],
            "mapping": [{"column": column, "field": name} for column, name in self.mapping],
            "tag_count": len(self.tags),
            "tags": dict(self.tags.most_common(MAX_REPORTED_TAGS)),
            **({"error_file": str(self.error_file.path)} if self.error_file else {}),
        }


class _Rollback(Exception):  # noqa: N818 - control flow, not an error
    pass


def run_import(
    workspace: Workspace,
    kind: ImportKind | str,
    path: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    encoding: str = "auto",
    dry_run: bool = False,
    progress: Progress | None = None,
    errors_path: Path | None = None,
    tag_separator: str = "auto",
    on_mapping: MappingListener | None = None,
) -> ImportReport:
    """Import a contacts / events / links CSV into `workspace`. Valid rows land (chunk by chunk,
    each in a transaction); each bad row is reported with its line, column and reason. A dry
    run does all the work inside one transaction and rolls it back.

    With `errors_path`, every rejected row (line, column, value excerpt, reason) is also
    written there as CSV, however many there are.

    `tag_separator` is a key of `rows.TAG_SEPARATOR_CHOICES` (how the タグ column is split);
    `on_mapping` is told which field each column feeds before any row is read."""
    kind = ImportKind(kind)
    if tag_separator not in row_parsers.TAG_SEPARATOR_CHOICES:
        raise ImportFileError(
            _("Unknown tag separator %(value)s (choose one of %(choices)s)")
            % {
                "value": tag_separator,
                "choices": ", ".join(row_parsers.TAG_SEPARATOR_CHOICES),
            }
        )
    source = open_csv(path, encoding)
    report = ImportReport(kind=kind.value, file_name=path.name, encoding=source.encoding)
    report.dry_run = dry_run
    if errors_path is not None:
        report.error_file = ErrorReportFile(errors_path)
        report.error_file.set_header(source.header)
    try:
        with _large_cache(), transaction.atomic():
            _run(
                workspace,
                kind,
                source,
                mapping or {},
                report,
                progress,
                row_parsers.TAG_SEPARATOR_CHOICES[tag_separator],
                on_mapping,
            )
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    finally:
        if report.error_file is not None:
            report.error_file.close()
    if not dry_run:
        # Segments right after an import must not run on a planner's guesses (issue 12.4).
        refresh_statistics(*TOUCHED_TABLES[kind])
        if kind in (ImportKind.LINKS, ImportKind.CONTACTS):
            line_ids_imported.send(sender=run_import, workspace=workspace)
    return report


# The tables an import writes (an events import updates the contacts' rollups; a links
# import tags linked contacts `line`).
TOUCHED_TABLES: dict[ImportKind, tuple[type[Any], ...]] = {
    ImportKind.CONTACTS: (Contact, Tag, ContactTag),
    ImportKind.EVENTS: (Event, Contact),
    ImportKind.LINKS: (Contact, Tag, ContactTag),
}


# SQLite's page cache while an import runs (KiB): the default 2 MB holds a sliver of the
# contact and event indexes a million-row file inserts into at random, so most index pages
# were re-read through the OS on every chunk. Allocated only as pages are used.
_IMPORT_CACHE_KIB = 256 * 1024


@contextmanager
def _large_cache() -> Iterator[None]:
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


def _batches(
    source: CsvSource,
    report: ImportReport,
    parse: Callable[[int, list[str]], Any],
    progress: Progress | None,
) -> Iterator[list[Any]]:
    """Valid rows in chunks of at most `chunk_rows()` lines read. The consumer hands each chunk to a
    service and adds its errors; then the chunk's errors are flushed, so the report and the
    error file stay in line order and only one chunk's rows are ever held."""
    batch: list[Any] = []
    read = 0
    size = chunk_rows()
    for line, cells in source.rows():
        report.rows += 1
        read += 1
        parsed = parse(line, cells)
        if isinstance(parsed, list):
            report.add_errors(parsed, cells)
        else:
            batch.append(parsed)
            report.keep_cells(line, cells)
        if read >= size:
            if batch:
                yield batch
            report.flush_errors()
            batch, read = [], 0
            if progress:
                progress(source.position(), source.total_bytes, report)
    if batch:
        yield batch
    report.flush_errors()
    if progress:
        progress(source.total_bytes, source.total_bytes, report)


def resolve_columns(
    kind: ImportKind, header: list[str], explicit: Mapping[str, str]
) -> tuple[ColumnMap, str]:
    """Which field each column of `header` feeds (synonyms, then `explicit`), and the prefix
    unknown columns may be kept under; refuses a mapping naming a missing column or an unknown
    field, and a file without the kind's required columns. The API checks an upload with this
    before it queues the job, so such a file is refused at once."""
    synonyms, prefix = {
        ImportKind.CONTACTS: (row_parsers.CONTACT_SYNONYMS, "attributes"),
        ImportKind.EVENTS: (row_parsers.EVENT_SYNONYMS, "properties"),
        ImportKind.LINKS: (row_parsers.LINK_SYNONYMS, "-"),
    }[kind]
    columns = resolve_mapping(header, synonyms, explicit, extras_prefix=prefix)
    required = {
        ImportKind.CONTACTS: ("external_id",),
        ImportKind.EVENTS: ("customer_id", "occurred_at"),
        ImportKind.LINKS: ("external_id", "line_user_id"),
    }[kind]
    missing = [f for f in required if f not in columns.fields]
    if missing:
        raise ImportFileError(
            _("No column for %(fields)s (columns: %(header)s)")
            % {"fields": ", ".join(missing), "header": ", ".join(header)}
        )
    return columns, prefix


def _run(
    workspace: Workspace,
    kind: ImportKind,
    source: CsvSource,
    explicit: Mapping[str, str],
    report: ImportReport,
    progress: Progress | None,
    tag_separator: re.Pattern[str] = row_parsers.TAG_SEPARATORS,
    on_mapping: MappingListener | None = None,
) -> None:
    columns, prefix = resolve_columns(kind, source.header, explicit)
    report.mapping = describe_mapping(columns, prefix)
    if on_mapping is not None:
        on_mapping(report.mapping)
    source_rows = source
    tz = workspace.tzinfo
    if kind == ImportKind.CONTACTS:
        seen: dict[str, int] = {}
        parse_row = row_parsers.contact_parser(columns, tz, tag_separator)

        def parse_contact(line: int, cells: list[str]) -> ContactInput | list[RowError]:
            parsed = parse_row(line, cells)
            if isinstance(parsed, ContactInput) and parsed.external_id:
                first = seen.setdefault(parsed.external_id, line)
                if first != line:
                    return [
                        RowError(
                            line,
                            columns.column_of("external_id"),
                            _("Customer number %(id)s is already on line %(line)d")
                            % {"id": parsed.external_id, "line": first},
                        )
                    ]
            if isinstance(parsed, ContactInput):
                report.tags.update(list(dict.fromkeys(parsed.tags)))
            return parsed

        for batch in _batches(source_rows, report, parse_contact, progress):
            report.add(services.upsert_contacts(workspace, batch, source=TagSource.IMPORT), columns)
    elif kind == ImportKind.EVENTS:
        # Staged, then applied set-based in SQL (see `events`).
        import_events(workspace, source_rows, columns, report, progress)
    else:

        def parse_link(line: int, cells: list[str]) -> LinkInput | list[RowError]:
            return row_parsers.link_row(line, cells, columns)

        for batch in _batches(source_rows, report, parse_link, progress):
            report.add(services.link_line_users(workspace, batch, via=LinkedVia.IMPORT), columns)


def describe_mapping(columns: ColumnMap, extras_prefix: str) -> list[tuple[str, str]]:
    """(column, field) for each column of the header, in file order: the field it feeds,
    `attributes.KEY` / `properties.KEY` for a kept extra column, `-` for an ignored one."""
    fed = {index: name for name, indexes in columns.fields.items() for index in indexes}
    kept = {index: f"{extras_prefix}.{key}" for key, index in columns.extras.items()}
    return [
        (column, fed.get(index) or kept.get(index) or "-")
        for index, column in enumerate(columns.header)
    ]
