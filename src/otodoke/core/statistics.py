"""Planner statistics after bulk writes: the one place that analyses tables.

Neither database gathers statistics by itself soon enough after a bulk load. SQLite never
does (no `sqlite_stat1` until someone runs ANALYZE), and PostgreSQL only when autovacuum gets
round to it, if it runs at all. Without them both planners guess, and for an event condition
SQLite took the (workspace, kind, time) index over the per-contact one: every contact's
EXISTS probe read all of the workspace's events (16–396 s on 20,000 freshly imported
contacts, 0.06–2.3 s once analysed).

Imports call `refresh_statistics` when they finish; the API's bulk routes call
`refresh_stale_statistics`, which analyses only a table that grew or changed by more than a
tenth since its last analysis (the rule autovacuum uses), so a stream of small requests pays
for an ANALYZE now and then rather than on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import connection
from django.db.models import Model

log = logging.getLogger(__name__)

# autovacuum's defaults: analyse after 50 + 10 % of the rows changed.
_STALE_ROWS = 50
_STALE_FRACTION = 0.1


def _tables(models: Iterable[type[Model]]) -> list[str]:
    return list(dict.fromkeys(model._meta.db_table for model in models))


def refresh_statistics(*models: type[Model]) -> list[str]:
    """Analyse the tables of `models` now; returns the table names analysed.

    SQLite: ``ANALYZE table`` (fills `sqlite_stat1`; the connection's planner reloads it).
    PostgreSQL: ``ANALYZE table`` (samples a fixed number of rows, so it costs about the same
    at any size, and sees the current transaction's own rows)."""
    tables = _tables(models)
    if not tables:
        return []
    with connection.cursor() as cursor:
        for table in tables:
            # A table name from the model's _meta, quoted; nothing user-supplied.
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    log.debug("Analysed %s", ", ".join(tables))
    return tables


def refresh_stale_statistics(*models: type[Model]) -> list[str]:
    """Analyse those tables of `models` whose statistics are missing or out of date."""
    stale = [model for model in models if _is_stale(model)]
    return refresh_statistics(*stale)


def _is_stale(model: type[Model]) -> bool:
    """The row count the last analysis recorded against the table now. Both numbers are
    transactional (PostgreSQL's change counters are not: they lag and ignore the current
    transaction), and cheap: the highest primary key is one index probe. Only when that says
    the table grew does a real count decide, so a table that lost rows is not analysed again
    and again."""
    counted = _analysed_rows(model._meta.db_table)
    if counted is None:
        return True
    threshold = _STALE_ROWS + _STALE_FRACTION * counted
    table = connection.ops.quote_name(model._meta.db_table)
    assert model._meta.pk is not None and model._meta.pk.column
    pk = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        # Identifiers from the model's _meta, quoted.
        cursor.execute(f"SELECT max({pk}) FROM {table}")  # noqa: S608
        highest = cursor.fetchone()[0] or 0
        if highest - counted <= threshold:
            return False
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        rows = int(cursor.fetchone()[0])
    return abs(rows - counted) > threshold


def _analysed_rows(table: str) -> int | None:
    """The table's row count as its last analysis saw it; None when it was never analysed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # reltuples is -1 until the first ANALYZE or VACUUM (PostgreSQL 14+).
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
            return None if row is None or row[0] < 0 else int(row[0])
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        # Each of the table's rows in sqlite_stat1 starts with its row count.
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
        row = cursor.fetchone()
        return None if row is None else int(str(row[0]).split()[0])
