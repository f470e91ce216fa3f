"""A staging table per import: valid rows are bulk-loaded into it chunk by chunk, then applied
to the real tables with a few set-based statements (see `events`).

The table is a temporary one of the import's own connection, so concurrent imports never see
each other's rows, and it lives inside the import's transaction: a crash half-way rolls it back
with everything else.

* PostgreSQL: ``COPY … FROM STDIN`` through psycopg 3's ``cursor.copy()`` (the database's bulk
  path; a temporary table writes no WAL).
* SQLite: ``executemany`` of one prepared INSERT per chunk, inside the import's single
  transaction (no commit per row), with a large page cache (`runner._large_cache`).

Only identifiers (fixed names from this module, quoted) and column types (fixed strings) are
formatted into the SQL; every value travels as a parameter or through COPY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connection

# Rows read, checked and loaded per chunk (one progress update and one error flush each).
# A setting so tests can put bad rows in different chunks of a small file.
DEFAULT_CHUNK_ROWS = 50_000


def chunk_rows() -> int:
    return max(1, int(getattr(settings, "OTODOKE_IMPORT_CHUNK_ROWS", DEFAULT_CHUNK_ROWS)))


def q(name: str) -> str:
    return connection.ops.quote_name(name)


class Staging:
    """One temporary table: ``line`` (the file's line number, the key) and `columns`, each
    (name, PostgreSQL type, SQLite type)."""

    def __init__(self, name: str, columns: Sequence[tuple[str, str, str]]) -> None:
        self.name = name
        self.table = q(name)
        self.columns = [c[0] for c in columns]
        self._types = columns
        self.loaded = 0

    @property
    def postgres(self) -> bool:
        return connection.vendor == "postgresql"

    def create(self) -> Staging:
        index = 1 if self.postgres else 2
        cols = ", ".join(f"{q(c[0])} {c[index]}" for c in self._types)
        key = "bigint PRIMARY KEY" if self.postgres else "INTEGER PRIMARY KEY"
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(f"CREATE TEMPORARY TABLE {self.table} (line {key}, {cols})")
        return self

    def load(self, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows: (line, *columns), in line order."""
        if not rows:
            return
        names = ", ".join(["line", *(q(c) for c in self.columns)])
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {self.table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * (len(self.columns) + 1))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({names}) VALUES ({marks})",  # noqa: S608
                    rows,
                )
        self.loaded += len(rows)

    def delete_lines(self, lines: Sequence[int]) -> None:
        if not lines:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(f"DELETE FROM {self.table} WHERE line = ANY(%s)", [list(lines)])  # noqa: S608
            else:
                cursor.executemany(
                    f"DELETE FROM {self.table} WHERE line = %s",  # noqa: S608
                    [(line,) for line in lines],
                )
        self.loaded -= len(lines)

    def analyze(self) -> None:
        """Planner statistics for the staging table itself before the set-based steps join
        it with the real tables (PostgreSQL never analyses temporary tables by itself)."""
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {self.table}")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
