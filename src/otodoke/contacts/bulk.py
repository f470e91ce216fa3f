"""Raw-SQL bulk reads and writes for imports, without per-row model instances.

Django's `bulk_create` builds a model instance and compiles every value of every row (about
60 % of an events import went there). These helpers take plain tuples already in the
database's own representation (see `adapters`) and write them with one statement per chunk:

* SQLite: `executemany` of ``INSERT … ON CONFLICT … DO UPDATE … WHERE <something differs>``
  (SQLite ≥ 3.24 has upserts);
* PostgreSQL: ``COPY`` into a temporary table, then one ``INSERT … SELECT … ON CONFLICT``.

Why the SQL here is safe: every value travels as a query parameter (or through COPY's own
encoding), never formatted into the SQL text. The only things formatted in are identifiers —
table and column names taken from the model's `_meta` and quoted with the backend's
`quote_name` — and the count of placeholders.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection, models, transaction

Adapter = Callable[[Any], Any]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model: type[models.Model]) -> str:
    return _q(model._meta.db_table)


def _column(model: type[models.Model], name: str) -> str:
    """The database column of a field name (``workspace`` and ``workspace_id`` alike)."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column  # a concrete field, not a relation
    return field.column


def _json_dumps(value: Any) -> str | None:
    # Django's JSONField stores json.dumps(value) with default options; the same text here
    # keeps SQLite's stored strings identical whichever path wrote them.
    return None if value is None else json.dumps(value)


def adapter(model: type[models.Model], name: str) -> Adapter:
    """Python value → what the driver takes for this column (and what a raw SELECT of it
    returns, so stored and new values compare directly). Django's SQLite connection converts
    declared datetime/date/bool columns both ways, with datetimes stored as naive UTC;
    PostgreSQL takes and returns aware datetimes."""
    kind = model._meta.get_field(name).get_internal_type()
    if kind == "DateTimeField" and not is_postgres():
        return _naive_utc
    if kind == "JSONField":
        return _json_dumps
    return _identity


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _identity(value: Any) -> Any:
    return value


def load_json(value: Any) -> Any:
    """A JSON column as read raw: text on SQLite (and with Django's psycopg loaders)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _in_clause(column: str, keys: Sequence[Any]) -> tuple[str, list[Any]]:
    if is_postgres():
        # One array parameter instead of thousands of placeholders.
        return f"{column} = ANY(%s)", [list(keys)]
    return f"{column} IN ({', '.join(['%s'] * len(keys))})", list(keys)


def fetch_by_keys(
    model: type[models.Model],
    workspace_id: int,
    key: str,
    keys: Sequence[Any],
    columns: Sequence[str],
) -> list[tuple[Any, ...]]:
    """Rows (`key`, *columns) of this workspace whose `key` is in `keys`, raw. Callers keep
    `keys` below SQLite's 32,766-parameter limit (chunks of at most 10,000)."""
    if not keys:
        return []
    names = ", ".join(_q(_column(model, c)) for c in (key, *columns))
    where, params = _in_clause(_q(_column(model, key)), keys)
    sql = (
        f"SELECT {names} FROM {_table(model)} "  # noqa: S608 - identifiers only, see module doc
        f"WHERE {_q(_column(model, 'workspace'))} = %s AND {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace_id, *params])
        return list(cursor.fetchall())


def ids_by_key(
    model: type[models.Model], workspace_id: int, key: str, keys: Iterable[Any]
) -> dict[Any, int]:
    """{key value: primary key} for the rows of this workspace with these keys."""
    wanted = list(dict.fromkeys(k for k in keys if k is not None))
    return dict(fetch_by_keys(model, workspace_id, key, wanted, ["id"]))


def upsert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    touch: Sequence[str] = (),
) -> None:
    """Insert `rows` (values already adapted, in `columns` order). With `conflict`, a row whose
    key exists updates the `update` columns instead, and only when one of them differs, so a
    row another process wrote meanwhile is neither duplicated nor needlessly rewritten.
    `touch` columns (``updated_at``) are written with an update but never compared."""
    if not rows:
        return
    cols = [_q(_column(model, c)) for c in columns]
    clause = ""
    if conflict:
        target = ", ".join(_q(_column(model, c)) for c in conflict)
        upd = [_q(_column(model, c)) for c in update if c not in touch]
        table = _table(model)
        assignments = ", ".join(
            f"{c} = EXCLUDED.{c}" for c in (*upd, *(_q(_column(model, t)) for t in touch))
        )
        if is_postgres():
            differs = (
                f"({', '.join(f'{table}.{c}' for c in upd)}) IS DISTINCT FROM "
                f"({', '.join(f'EXCLUDED.{c}' for c in upd)})"
            )
        else:
            differs = " OR ".join(f"{table}.{c} IS NOT EXCLUDED.{c}" for c in upd)
        clause = f" ON CONFLICT ({target}) DO UPDATE SET {assignments} WHERE {differs}"
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            _copy_insert(cursor, model, cols, rows, clause)
        else:
            _values_insert(cursor, model, cols, rows, clause)


# SQLite allows 32,766 parameters per statement (since 3.32).
_SQLITE_MAX_PARAMS = 32_000


def _values_insert(
    cursor: Any,
    model: type[models.Model],
    cols: list[str],
    rows: Sequence[Sequence[Any]],
    clause: str,
) -> None:
    """Multi-row ``INSERT … VALUES (…), (…) [ON CONFLICT …]``: measured several times faster
    than `executemany` of a one-row upsert on SQLite with foreign keys on."""
    per = max(1, _SQLITE_MAX_PARAMS // len(cols))
    group = f"({', '.join(['%s'] * len(cols))})"
    head = f"INSERT INTO {_table(model)} ({', '.join(cols)}) VALUES "  # noqa: S608 - module doc
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        cursor.execute(
            head + ", ".join([group] * len(part)) + clause, [v for row in part for v in row]
        )


def _copy_insert(
    cursor: Any,
    model: type[models.Model],
    cols: list[str],
    rows: Sequence[Sequence[Any]],
    clause: str,
) -> None:
    """COPY the rows into a temporary table shaped like the target's columns, then one
    INSERT … SELECT. The temporary table lives until the transaction ends (ON COMMIT DROP);
    callers run inside one (`upsert` opens an atomic block)."""
    table = _table(model)
    staging = _q(f"otodoke_load_{model._meta.db_table}")
    names = ", ".join(cols)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {names} FROM {table} WITH NO DATA"
    )
    cursor.execute(f"TRUNCATE {staging}")
    with cursor.cursor.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}{clause}"  # noqa: S608
    )


def update_by_pk(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE … SET columns WHERE id = ?, one parameter row per contact: (*values, pk)."""
    if not rows:
        return
    sets = ", ".join(f"{_q(_column(model, c))} = %s" for c in columns)
    sql = f"UPDATE {_table(model)} SET {sets} WHERE {_q('id')} = %s"  # noqa: S608 - module doc
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
