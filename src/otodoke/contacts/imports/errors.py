"""The full per-row error report of an import, as a CSV file written while the import runs.

The job page keeps only the first errors (`runner.MAX_REPORTED_ERRORS`); this file has every
rejected row, so a POS export with 50,000 bad rows can be fixed from the report alone. Rows are
written as each chunk is checked, never collected, so big files cost no memory.
"""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import Self

from django.utils.translation import gettext as _

from otodoke.contacts.inputs import RowError

VALUE_EXCERPT = 100
# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excerpt(value: str) -> str:
    value = value.strip()
    if len(value) > VALUE_EXCERPT:
        value = value[: VALUE_EXCERPT - 1] + "…"
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value


class ErrorReportFile:
    """Write RowErrors with the offending cell's value: row, column, value excerpt, reason.

    UTF-8 with a BOM, so Excel on Windows opens the Japanese text as it is.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.written = 0
        self._file = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file, lineterminator="\r\n")
        self._csv.writerow([_("Line"), _("Column"), _("Value"), _("Problem")])
        self._column_index: dict[str, int] = {}

    def set_header(self, header: list[str]) -> None:
        """The file's header, to find an error's cell by its column name (first one wins)."""
        self._column_index = {}
        for index, name in enumerate(header):
            self._column_index.setdefault(name, index)

    def write(self, error: RowError, cells: list[str] | None) -> None:
        index = self._column_index.get(error.column)
        value = ""
        if cells is not None and index is not None and index < len(cells):
            value = cells[index]
        self._csv.writerow([error.row, error.column, excerpt(value), error.message])
        self.written += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
