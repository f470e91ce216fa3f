"""Customer search (顧客検索): flat filters written as a segment definition, a sorted list read
with keyset pagination, and a count that stops at a cap.

The filters are not a second query language: `SearchFilters.definition()` is an ordinary
segment definition (version 1, an ``all`` group), compiled by the segments compiler like a send
would, so "save this search as a segment" stores exactly what the list showed.

Pages are read with a keyset ("the rows after this sort value and ID"), never OFFSET, so a deep
page costs what the first one does. Every sort is on one column plus the primary key as the tie
breaker, served by a (workspace, column, id) index. Columns that may be NULL (birth date, last
visit) always put their NULLs last, whatever the direction: the page is then read in two legs,
the non-NULL rows by the index range and, once they run out, the NULL rows by ID.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from otodoke.contacts.models import Contact
from otodoke.segments.schema import SCHEMA_VERSION

# The count stops here: past it the list says "10,000+" (an exact count is one click away),
# so a broad search on a million contacts never waits for a full scan just to print a number.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class SortKey:
    column: str
    nullable: bool
    # Whether "ascending" for the user reads the column descending (age: younger = later birth).
    inverted: bool = False


SORTS: dict[str, SortKey] = {
    "updated": SortKey("updated_at", nullable=False),
    "name": SortKey("name", nullable=False),
    "kana": SortKey("name_kana", nullable=False),
    "age": SortKey("birth_date", nullable=True, inverted=True),
    "last_visit": SortKey("last_visit_at", nullable=True),
    "visits": SortKey("visit_count", nullable=False),
    "spent": SortKey("total_spent", nullable=False),
}
DEFAULT_SORT = "updated"


# --- filters as a segment definition ---------------------------------------------------------

LINE_CHOICES = ("linked", "following", "blocked", "not_linked")
WHO_CHOICES = ("customers", "line_only", "all")


@dataclass(frozen=True)
class SearchFilters:
    """What the search form asks; every field empty means "any"."""

    age_min: int | None = None
    age_max: int | None = None
    genders: tuple[str, ...] = ()
    birth_months: tuple[int, ...] = ()
    prefectures: tuple[str, ...] = ()
    # Last visit: "within" N days (on or after the start of that day) or "before" it
    # (N days or more ago), or "never".
    last_visit: str = ""
    last_visit_days: int | None = None
    visits_min: int | None = None
    visits_max: int | None = None
    spent_min: int | None = None
    spent_max: int | None = None
    tags: tuple[str, ...] = ()
    line: str = ""
    consent: str = ""  # "" | "yes" | "no"
    # Customers with business data (a customer number) by default; LINE-only friends on demand.
    who: str = "customers"

    def conditions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        if self.who == "customers":
            found.append({"kind": "has_customer_number", "value": True})
        elif self.who == "line_only":
            found.append({"kind": "has_customer_number", "value": False})
        if self.age_min is not None or self.age_max is not None:
            found.append(_range("age", self.age_min, self.age_max))
        if self.genders:
            found.append({"kind": "gender", "values": list(self.genders)})
        if self.birth_months:
            found.append({"kind": "birth_month", "months": sorted(self.birth_months)})
        if self.prefectures:
            found.append({"kind": "prefecture", "values": list(self.prefectures)})
        if self.last_visit == "never":
            found.append({"kind": "last_visit", "op": "never"})
        elif self.last_visit in {"within", "before"} and self.last_visit_days is not None:
            op = "on_or_after" if self.last_visit == "within" else "before"
            found.append({"kind": "last_visit", "op": op, "days_ago": self.last_visit_days})
        if self.visits_min is not None or self.visits_max is not None:
            found.append(_range("visit_count", self.visits_min, self.visits_max))
        if self.spent_min is not None or self.spent_max is not None:
            found.append(_range("total_spent", self.spent_min, self.spent_max))
        if self.tags:
            found.append({"kind": "tags", "match": "all", "names": list(self.tags)})
        if self.line == "linked":
            found.append({"kind": "line_linked", "value": True})
        elif self.line == "not_linked":
            found.append({"kind": "line_linked", "value": False})
        elif self.line in {"following", "blocked"}:
            found.append({"kind": "line_status", "values": [self.line]})
        if self.consent in {"yes", "no"}:
            found.append({"kind": "consent", "value": self.consent == "yes"})
        return found

    def definition(self) -> dict[str, Any]:
        """The segment definition that matches exactly whom this search lists."""
        return {
            "version": SCHEMA_VERSION,
            "where": {"kind": "all", "conditions": self.conditions()},
        }


def _range(kind: str, low: int | None, high: int | None) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": kind}
    if low is not None:
        node["min"] = low
    if high is not None:
        node["max"] = high
    return node


# --- keyset pagination -----------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """The last row of the previous page: its sort value (None = in the NULL leg) and ID."""

    value: Any
    pk: int


class CursorError(ValueError):
    pass


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _from_json(key: SortKey, value: Any) -> Any:
    if value is None:
        return None
    if key.column in {"updated_at", "last_visit_at"}:
        parsed = dt.datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            raise CursorError(value)
        return parsed
    if key.column == "birth_date":
        return dt.date.fromisoformat(str(value))
    if key.column in {"visit_count", "total_spent"}:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CursorError(value)
        return value
    if not isinstance(value, str):
        raise CursorError(value)
    return value


def encode_cursor(sort: str, row: Contact) -> str:
    key = SORTS[sort]
    raw = json.dumps(
        {"s": sort, "v": _to_json(getattr(row, key.column)), "id": row.pk},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: str, token: str) -> Cursor:
    """A cursor this module made for the same sort, or CursorError."""
    try:
        data = json.loads(base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode()))
        if data["s"] != sort:
            raise CursorError(token)
        pk = data["id"]
        if isinstance(pk, bool) or not isinstance(pk, int) or pk < 1:
            raise CursorError(token)
        return Cursor(_from_json(SORTS[sort], data["v"]), pk)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise CursorError(token) from exc


@dataclass
class Page:
    rows: list[Contact]
    next_cursor: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def read_page(
    contacts: QuerySet[Contact],
    *,
    sort: str = DEFAULT_SORT,
    descending: bool = True,
    cursor: Cursor | None = None,
    size: int = 50,
    everyone: QuerySet[Contact] | None = None,
) -> Page:
    """One page of `contacts` in the sort order, after `cursor`.

    The non-NULL leg is bounded on both sides of the sort column: by the cursor, and by the
    column's smallest / largest value among `everyone` (the workspace's contacts; two LIMIT 1
    index lookups). The bounds change no result, but they show SQLite's planner a range on
    the sort index as narrow as any filter's, so it walks that index and stops after one page
    instead of sorting every match of, say, an age range (5 s → 1 ms on a million contacts).
    The NULL leg is read only when the non-NULL rows run out inside the page."""
    key = SORTS[sort]
    column = key.column
    down = descending != key.inverted
    op = "lt" if down else "gt"
    order = [f"-{column}", "-pk"] if down else [column, "pk"]
    id_order = ["-pk"] if down else ["pk"]
    base = contacts.order_by()
    rows: list[Contact] = []
    in_null_leg = cursor is not None and cursor.value is None and key.nullable
    if not in_null_leg:
        extremes = (
            (everyone if everyone is not None else contacts)
            .order_by()
            .filter(**{f"{column}__isnull": False})
        )
        low = extremes.order_by(column).values_list(column, flat=True).first()
        high = extremes.order_by(f"-{column}").values_list(column, flat=True).first()
        if low is not None and high is not None:
            # The cursor replaces the extreme on its side: SQLite uses one bound per side, and
            # the extreme would have it walk the index from the top to the cursor.
            if cursor is not None:
                low, high = (low, cursor.value) if down else (cursor.value, high)
            leg = base.filter(**{f"{column}__gte": low, f"{column}__lte": high})
            if cursor is not None:
                # Only breaks ties on the cursor's value.
                leg = leg.filter(
                    Q(**{f"{column}__{op}": cursor.value}) | Q(**{f"pk__{op}": cursor.pk})
                )
            rows = list(leg.order_by(*order)[: size + 1])
    if key.nullable and len(rows) <= size:
        nulls = base.filter(**{f"{column}__isnull": True})
        if in_null_leg and cursor is not None:
            nulls = nulls.filter(**{f"pk__{op}": cursor.pk})
        rows += list(nulls.order_by(*id_order)[: size + 1 - len(rows)])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, encode_cursor(sort, rows[-1]) if more and rows else None)


@dataclass(frozen=True)
class CappedCount:
    value: int
    capped: bool  # True: there are more than `value` (the cap)


def capped_count(contacts: QuerySet[Contact], *, cap: int | None = COUNT_CAP) -> CappedCount:
    """One COUNT query that stops reading after `cap` + 1 rows (None: the exact count)."""
    if cap is None:
        return CappedCount(contacts.order_by().count(), capped=False)
    n = contacts.order_by().values("pk")[: cap + 1].count()
    return CappedCount(min(n, cap), capped=n > cap)
