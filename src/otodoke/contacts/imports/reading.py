"""Reading CSV files: encoding detection, streaming rows, and the column → field mapping."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

ENCODINGS = ("auto", "utf-8", "utf-8-sig", "cp932")
_SNIFF_BYTES = 1 << 20
# The most columns a file may have: a POS export has tens, and every column becomes a row of
# the mapping page (a 100,000-column file took over 60 s and 1.4 GB to show).
MAX_COLUMNS = 500
# The header must end within this many bytes (500 long headers fit many times over).
MAX_HEADER_BYTES = 1 << 20
# What the mapping step reads for its sample rows, however big the file or its rows are.
PREVIEW_BYTES = 256 * 1024
PREVIEW_CELL_CHARS = 200


class ImportFileError(Exception):
    """The file as a whole cannot be imported (wrong encoding, no header, unknown column …)."""


def detect_encoding(path: Path, requested: str = "auto") -> str:
    """BOM → utf-8-sig; valid UTF-8 → utf-8; anything else → cp932 (Shift_JIS as Windows and
    Japanese POS systems write it; a superset of plain Shift_JIS)."""
    if requested != "auto":
        if requested not in ENCODINGS:
            raise ImportFileError(_("Unknown encoding %(enc)s") % {"enc": requested})
        return requested
    with path.open("rb") as f:
        head = f.read(len(codecs.BOM_UTF8))
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            # Decode the whole file in blocks: a CP932 file can look like UTF-8 for a while
            # (ASCII headers, then 氏名 in row 5000).
            while block := f.read(_SNIFF_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp932"
    return "utf-8"


def _cell_too_large(line: int) -> ImportFileError:
    """Python's csv module refuses a cell over its field limit (128 KiB): say which line, and
    the usual cause (a quote never closed makes the rest of the file one cell)."""
    return ImportFileError(
        _(
            "Line %(line)d has a cell larger than %(limit)d KiB, the most a cell may hold. "
            'This is usually a quote (") that is never closed: check the file around that line.'
        )
        % {"line": line, "limit": csv.field_size_limit() // 1024}
    )


def _too_many_columns(count: int) -> ImportFileError:
    return ImportFileError(
        _(
            "The file has %(count)d columns; at most %(max)d can be imported. "
            "Export fewer columns, or check that the file is a CSV (comma-separated)."
        )
        % {"count": count, "max": MAX_COLUMNS}
    )


def header_key(name: str) -> str:
    """Headers compare loosely: full/half width, case, spaces, brackets and underscores."""
    v = unicodedata.normalize("NFKC", name).strip().lower()
    for junk in (" ", "\u3000", "_", "-", "(", ")", "（", "）", "・"):
        v = v.replace(junk, "")
    return v


@dataclass
class CsvSource:
    path: Path
    encoding: str
    header: list[str] = field(default_factory=list)
    total_bytes: int = 0
    _binary: io.BufferedReader | None = None

    def position(self) -> int:
        """Bytes read so far (read-ahead included): enough for a progress bar."""
        return self._binary.tell() if self._binary is not None else 0

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number in the file, cells); the header is line 1. Blank lines are skipped."""
        self.total_bytes = self.path.stat().st_size
        with self.path.open("rb") as binary:
            self._binary = binary
            text = io.TextIOWrapper(binary, encoding=self.encoding, newline="")
            reader = csv.reader(text)
            next(reader, None)  # the header, read by open_csv
            start = reader.line_num + 1
            try:
                for cells in reader:
                    # Same test as any(c.strip() for c in cells), without a generator per row.
                    if "".join(cells).strip():
                        yield start, cells
                    start = reader.line_num + 1
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    _("The file is not %(enc)s (near line %(line)d)")
                    % {"enc": self.encoding, "line": start}
                ) from exc
            except csv.Error as exc:
                # The reader cannot be trusted past this point (inside an unclosed quote the
                # next lines would come back as rows of their own), so the file stops here;
                # the import's transaction then leaves nothing half-done.
                raise _cell_too_large(start) from exc
            finally:
                text.detach()
                self._binary = None


def open_csv(path: Path, encoding: str = "auto") -> CsvSource:
    """The file with its encoding and header read (the rows are streamed later)."""
    if not path.is_file():
        raise ImportFileError(_("No such file: %(path)s") % {"path": str(path)})
    source = CsvSource(path=path, encoding=detect_encoding(path, encoding))
    text, truncated = _read_prefix(path, source.encoding, MAX_HEADER_BYTES)
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty")) from None
    except csv.Error as exc:
        raise _cell_too_large(1) from exc
    if truncated and lines.tell() >= len(text):
        # The header record ran to the end of what was read: it is longer than the bound.
        raise ImportFileError(
            _("The first line (the header) is longer than %(limit)d KiB.")
            % {"limit": MAX_HEADER_BYTES // 1024}
        )
    if len(header) > MAX_COLUMNS:
        raise _too_many_columns(len(header))
    source.header = header
    return source


def _read_prefix(path: Path, encoding: str, limit: int) -> tuple[str, bool]:
    """At most `limit` bytes of the file as text (a character cut at the end is dropped);
    and whether the file goes on beyond them."""
    with path.open("rb") as binary:
        raw = binary.read(limit + 1)
    truncated = len(raw) > limit
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        text = decoder.decode(raw[:limit], final=not truncated)
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file is not %(enc)s") % {"enc": encoding}) from exc
    return text, truncated


def preview_rows(source: CsvSource, count: int) -> list[list[str]]:
    """The first `count` data rows for the mapping step, read from the file's first
    PREVIEW_BYTES only, each cell cut to PREVIEW_CELL_CHARS: the page costs the same for a
    200 MB file or a row of huge cells. A row cut by the byte bound is left out."""
    text, truncated = _read_prefix(source.path, source.encoding, PREVIEW_BYTES)
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines)
    rows: list[list[str]] = []
    line = 1
    try:
        next(reader, None)  # the header
        line = reader.line_num + 1
        for cells in reader:
            if truncated and lines.tell() >= len(text):
                break  # this record may go on past the bytes read
            if "".join(cells).strip():
                rows.append([cell[:PREVIEW_CELL_CHARS] for cell in cells[:MAX_COLUMNS]])
                if len(rows) >= count:
                    break
            line = reader.line_num + 1
    except csv.Error as exc:
        raise _cell_too_large(line) from exc
    return rows


@dataclass
class ColumnMap:
    """Which columns feed which field. Several columns may feed one field (携帯電話 before
    電話番号): the first non-blank cell wins."""

    fields: dict[str, list[int]]
    header: list[str]
    # attribute (or event property) key → column
    extras: dict[str, int]
    # field → a function reading its value from a row, built once: `value` runs several times
    # per row of a million-row file, and most fields come from exactly one column.
    _getters: dict[str, Callable[[list[str]], str]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def column_of(self, field_name: str) -> str:
        cols = self.fields.get(field_name)
        return self.header[cols[0]] if cols else field_name

    def getter(self, field_name: str) -> Callable[[list[str]], str]:
        """The function `value` calls for this field, to call directly in a hot loop."""
        get = self._getters.get(field_name)
        if get is None:
            get = self._getters[field_name] = _getter(tuple(self.fields.get(field_name, ())))
        return get

    def value(self, cells: list[str], field_name: str) -> str:
        """The field's first non-blank cell in this row, stripped ("" when none)."""
        get = self._getters.get(field_name)
        if get is None:
            get = self._getters[field_name] = _getter(tuple(self.fields.get(field_name, ())))
        return get(cells)


def _blank(cells: list[str]) -> str:
    return ""


def _getter(indexes: tuple[int, ...]) -> Callable[[list[str]], str]:
    if not indexes:
        return _blank
    if len(indexes) == 1:
        (only,) = indexes

        def single(cells: list[str]) -> str:
            return cells[only].strip() if only < len(cells) else ""

        return single

    def first_non_blank(cells: list[str]) -> str:
        for index in indexes:
            if index < len(cells) and (v := cells[index].strip()):
                return v
        return ""

    return first_non_blank


IGNORE = {"", "-", "ignore", "skip"}


def resolve_mapping(
    header: list[str],
    synonyms: Mapping[str, tuple[str, ...]],
    explicit: Mapping[str, str],
    *,
    extras_prefix: str,
) -> ColumnMap:
    """Default synonyms first, overridden by `explicit` (column → field, `-` to ignore,
    `<extras_prefix>` or `<extras_prefix>.KEY` to keep an unknown column)."""
    keys = [header_key(h) for h in header]
    by_key = {k: i for i, k in reversed(list(enumerate(keys)))}
    fields: dict[str, list[int]] = {}
    for field_name, names in synonyms.items():
        cols = [by_key[header_key(n)] for n in names if header_key(n) in by_key]
        if cols:
            fields[field_name] = list(dict.fromkeys(cols))
    extras: dict[str, int] = {}
    for column, target in explicit.items():
        if header_key(column) not in by_key:
            raise ImportFileError(
                _("The mapping names column “%(col)s”, which is not in the file") % {"col": column}
            )
        index = by_key[header_key(column)]
        for cols in fields.values():
            if index in cols:
                cols.remove(index)
        target = target.strip()
        if target in IGNORE:
            continue
        if target == extras_prefix or target.startswith(extras_prefix + "."):
            extras[target.partition(".")[2] or header[index].strip()] = index
        elif target in synonyms:
            fields.setdefault(target, [])
            fields[target].insert(0, index)
        else:
            raise ImportFileError(
                _("Unknown field “%(field)s” (known: %(known)s, %(extra)s.KEY)")
                % {"field": target, "known": ", ".join(synonyms), "extra": extras_prefix}
            )
    return ColumnMap(fields={k: v for k, v in fields.items() if v}, header=header, extras=extras)
