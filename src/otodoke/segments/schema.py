"""The segment definition schema, version 1: typed models, JSON Schema export, error paths.

A definition is ``{"version": 1, "where": <condition>}``. Conditions are a discriminated union
on ``kind``; ``all`` / ``any`` / ``not`` nest them. docs/segments.md documents every kind with
examples and docs/segment-schema.v1.json is generated from these models
(``otodoke segment schema``). Changing a model in a way that rejects a stored definition needs a
new version, not an edit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from otodoke.contacts.japan import PREFECTURE_SET
from otodoke.core import jsontext

SCHEMA_VERSION = 1
SCHEMA_ID = "https://otodoke.invalid/schemas/segment.v1.json"
# JSON nesting of a whole definition: each group takes two levels (its object and its list),
# so this allows groups nested 20 deep, far past any real segment.
MAX_DEPTH = 44

Days = Annotated[int, Field(ge=0, le=36500)]
# Property / attribute keys: the JSON key as stored. No "__" because Django would read it as a
# path separator; no control characters.


def _no_double_underscore(value: str) -> str:
    if "__" in value:
        raise ValueError("a key may not contain “__”")
    if value.isdigit():
        # Django and both databases would read a number as an array index.
        raise ValueError("a key may not be only digits")
    return value


JsonKey = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$"),
    AfterValidator(_no_double_underscore),
]
# What both databases can store and compare: 64-bit integers (SQLite cannot bind more), finite
# floats (JSON has no NaN), text without NUL or lone surrogates (PostgreSQL refuses them) and
# short enough for SQLite's LIKE pattern limit.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_TEXT = 1000
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def _storable(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"a whole number must fit in 64 bits ({INT64_MIN} to {INT64_MAX})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and Infinity are not numbers JSON can carry")
    if isinstance(value, str):
        if jsontext.UNSTORABLE.search(value):
            raise ValueError("NUL characters and lone surrogates are not allowed")
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT:,} characters (this has {len(value):,})")
    return value


Scalar = Annotated[str | int | float | bool, BeforeValidator(_storable)]
NonNegative64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
DbId = Annotated[int, Field(ge=1, le=INT64_MAX)]
# Dates a segment may name: far enough for any birth or purchase date, near enough that "the
# day after" and the workspace's offset stay inside what datetimes and databases hold.
Date = Annotated[dt.date, Field(ge=FIRST_DATE, le=LAST_DATE)]
Name = Annotated[str, Field(min_length=1, max_length=100), BeforeValidator(_storable)]


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- groups -------------------------------------------------------------------------------


class AllOf(_Node):
    """Every condition holds. An empty list matches every contact of the workspace."""

    kind: Literal["all"]
    conditions: list[Condition] = Field(max_length=100)


class AnyOf(_Node):
    """At least one condition holds."""

    kind: Literal["any"]
    conditions: list[Condition] = Field(min_length=1, max_length=100)


class Not(_Node):
    """The exact complement (within the workspace) of the condition."""

    kind: Literal["not"]
    condition: Condition


# --- attributes ---------------------------------------------------------------------------


class GenderIs(_Node):
    kind: Literal["gender"]
    values: list[Literal["male", "female", "other", "unknown"]] = Field(min_length=1)


class _Range(_Node):
    min: int | None = Field(default=None, ge=0, le=INT64_MAX)
    max: int | None = Field(default=None, ge=0, le=INT64_MAX)

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self


class AgeBetween(_Range):
    """Age in whole years on today's date in the workspace time zone; bounds inclusive."""

    kind: Literal["age"]
    min: int | None = Field(default=None, ge=0, le=150)
    max: int | None = Field(default=None, ge=0, le=150)


class BirthMonth(_Node):
    kind: Literal["birth_month"]
    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(min_length=1)


class Birthday(_Node):
    """Birthday today / this month / next month, "today" being the workspace's local date."""

    kind: Literal["birthday"]
    when: Literal["today", "this_month", "next_month"]


class PrefectureIn(_Node):
    kind: Literal["prefecture"]
    values: list[str] = Field(min_length=1)

    @field_validator("values")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in PREFECTURE_SET]
        if unknown:
            raise ValueError(f"not a prefecture (full Japanese name, e.g. 東京都): {unknown}")
        return values


class AttributeIs(_Node):
    """A custom attribute (Contact.attributes). `contains` is a substring match on the value as
    text, case-insensitive for ASCII letters."""

    kind: Literal["attribute"]
    key: JsonKey
    op: Literal["equals", "contains", "exists"]
    value: Scalar | None = None

    @model_validator(mode="after")
    def _value(self) -> Self:
        if self.op == "exists" and self.value is not None:
            raise ValueError("exists takes no value")
        if self.op != "exists" and self.value is None:
            raise ValueError(f"{self.op} needs a value")
        if self.op == "contains" and not isinstance(self.value, str):
            raise ValueError("contains needs a text value")
        return self


class Flag(_Node):
    """Marketing consent / has an e-mail address / has a phone number / has a customer number
    (business data from the shop's own records, as opposed to a LINE-only friend)."""

    kind: Literal["consent", "has_email", "has_phone", "has_customer_number"]
    value: StrictBool = True


# --- rollups ------------------------------------------------------------------------------


class DateRollup(_Node):
    """`before`: strictly before the boundary; `on_or_after`: at or after it; `never`: no such
    date recorded. The boundary is the start (00:00 local) of the day `days_ago` days before
    today in the workspace time zone, or of `date`."""

    kind: Literal["last_visit", "first_visit", "last_purchase"]
    op: Literal["before", "on_or_after", "never"]
    days_ago: Days | None = None
    date: Date | None = None

    @model_validator(mode="after")
    def _boundary(self) -> Self:
        given = (self.days_ago is not None) + (self.date is not None)
        if self.op == "never" and given:
            raise ValueError("never takes neither days_ago nor date")
        if self.op != "never" and given != 1:
            raise ValueError("give exactly one of days_ago and date")
        return self


class NumberRollup(_Range):
    """Inclusive range over a rollup column; total_spent is in yen."""

    kind: Literal["visit_count", "purchase_count", "total_spent"]


# --- tags ---------------------------------------------------------------------------------


class Tags(_Node):
    """`any` / `all` / `none` of the named tags; `added_within_days` counts only tags added at
    or after the start of the local day that many days ago."""

    kind: Literal["tags"]
    match: Literal["any", "all", "none"]
    names: list[Name] = Field(min_length=1, max_length=100)
    added_within_days: Days | None = None


# --- events -------------------------------------------------------------------------------


# Event columns a `where` test may name instead of a property: the key is the column. A
# number column takes number tests only, a text column text tests only, so a test that could
# never match is refused instead of silently matching nothing.
EVENT_COLUMNS: dict[str, Literal["number", "text"]] = {"amount": "number", "source": "text"}
_COLUMN_OPS = {
    "number": ("equals", "in", "exists", "gte", "lte"),
    "text": ("equals", "in", "contains", "exists"),
}


class PropertyFilter(_Node):
    """One test on an event: `amount` (yen) and `source` (api / import) are the event's own
    columns; any other key is Event.properties[key]. `gte` / `lte` compare numbers."""

    key: JsonKey
    op: Literal["equals", "in", "contains", "exists", "gte", "lte"]
    value: Scalar | Annotated[list[Scalar], Field(max_length=1000)] | None = None

    @model_validator(mode="after")
    def _column(self) -> Self:
        column = EVENT_COLUMNS.get(self.key)
        if column is None:
            return self
        if self.op not in _COLUMN_OPS[column]:
            ops = ", ".join(_COLUMN_OPS[column])
            raise ValueError(f"{self.key} is the event's {column} column: use {ops}")
        values = self.value if isinstance(self.value, list) else [self.value]
        if self.op != "exists":
            # Yen are whole numbers: a float would be truncated by the integer column.
            if column == "number" and any(
                isinstance(v, bool) or not isinstance(v, int) for v in values
            ):
                raise ValueError(f"{self.key} is a number (yen): give numbers")
            if column == "text" and any(not isinstance(v, str) for v in values):
                raise ValueError(f"{self.key} is text: give text values")
        return self

    @model_validator(mode="after")
    def _value(self) -> Self:
        if self.op == "exists":
            if self.value is not None:
                raise ValueError("exists takes no value")
        elif self.op == "in":
            if not isinstance(self.value, list) or not self.value:
                raise ValueError("in needs a non-empty list")
        elif self.op in {"gte", "lte"}:
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise ValueError(f"{self.op} needs a number")
        elif self.op == "contains":
            if not isinstance(self.value, str):
                raise ValueError("contains needs a text value")
        elif self.value is None or isinstance(self.value, list):
            raise ValueError("equals needs one value")
        return self


class EventMeasure(_Node):
    """How many events of a kind (count) or the sum of their amounts in yen (amount), in a
    window: `within_days` (from the start of that local day) or `since` / `until` (local dates,
    both inclusive). No window = all time."""

    kind: Literal["event"]
    event: Annotated[str, Field(min_length=1, max_length=60), BeforeValidator(_storable)]
    where: list[PropertyFilter] = Field(default_factory=list, max_length=20)
    within_days: Days | None = None
    since: Date | None = None
    until: Date | None = None
    measure: Literal["count", "amount"] = "count"
    op: Literal["at_least", "at_most", "exactly"] = "at_least"
    value: NonNegative64 = 1

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.within_days is not None and (self.since or self.until):
            raise ValueError("give within_days or since/until, not both")
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self

    @field_validator("event")
    @classmethod
    def _event_kind(cls, value: str) -> str:
        from otodoke.contacts.models import EventKind, validate_event_kind

        try:
            validate_event_kind(value)
        except Exception as exc:
            kinds = ", ".join(EventKind.values)
            raise ValueError(f"not an event kind ({kinds} or custom:<name>)") from exc
        return value


# --- LINE ---------------------------------------------------------------------------------


class LineStatus(_Node):
    """Friend state: following, blocked, or none (never a friend / unknown)."""

    kind: Literal["line_status"]
    values: list[Literal["following", "blocked", "none"]] = Field(min_length=1)


class LineLinked(_Node):
    """Linked = the contact has both a customer number (external_id) and a LINE user ID."""

    kind: Literal["line_linked"]
    value: StrictBool = True


class FriendFor(_Node):
    """A following friend whose current friendship started at least / at most N×24 h ago."""

    kind: Literal["friend_for"]
    at_least_days: Days | None = None
    at_most_days: Days | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        low, high = self.at_least_days, self.at_most_days
        if low is None and high is None:
            raise ValueError("give at_least_days, at_most_days or both")
        if low is not None and high is not None and low > high:
            raise ValueError("at_least_days is greater than at_most_days")
        return self


# --- membership and clicks ----------------------------------------------------------------


class InSegment(_Node):
    kind: Literal["in_segment"]
    segment_id: DbId


class InAudience(_Node):
    kind: Literal["in_audience"]
    audience_id: DbId


class Clicked(_Node):
    """Clicked one tracked link, any link of a campaign, or (neither given) any link."""

    kind: Literal["clicked"]
    link_id: DbId | None = None
    campaign_id: DbId | None = None
    within_days: Days | None = None

    @model_validator(mode="after")
    def _target(self) -> Self:
        if self.link_id is not None and self.campaign_id is not None:
            raise ValueError("give link_id or campaign_id, not both")
        return self


Condition = Annotated[
    AllOf
    | AnyOf
    | Not
    | GenderIs
    | AgeBetween
    | BirthMonth
    | Birthday
    | PrefectureIn
    | AttributeIs
    | Flag
    | DateRollup
    | NumberRollup
    | Tags
    | EventMeasure
    | LineStatus
    | LineLinked
    | FriendFor
    | InSegment
    | InAudience
    | Clicked,
    Field(discriminator="kind"),
]


class SegmentDefinition(_Node):
    version: Literal[1]
    where: Condition


for _model in (AllOf, AnyOf, Not, SegmentDefinition):
    _model.model_rebuild()


# --- parsing and errors -------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition: a JSON path (``$.where.conditions[1].min``) and what
    is wrong there."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def as_json(self) -> list[dict[str, str]]:
        return [{"path": p.path, "message": p.message} for p in self.problems]


def _json_path(data: Any, loc: tuple[int | str, ...]) -> str:
    """Turn pydantic's location into a JSON path over the *input*. Pydantic inserts the
    discriminator's value (e.g. "age") after a union field; walking the input data tells those
    apart from real keys, so users see the path into the JSON they wrote."""
    path = "$"
    current: Any = data
    # Pydantic names the union member once, right after entering a node; an event condition's
    # tag ("event") is also one of its keys, so the tag is recognised before the keys.
    fresh = True
    for part in loc:
        if fresh and isinstance(current, Mapping) and current.get("kind") == part:
            fresh = False
            continue
        fresh = True
        if isinstance(current, list) and isinstance(part, int):
            path += f"[{part}]"
            current = current[part] if part < len(current) else None
        elif isinstance(current, Mapping) and part in current:
            path += f".{part}"
            current = current[part]
        elif isinstance(current, Mapping) and isinstance(part, str) and part.islower():
            # A missing required key, or a discriminator tag: tags equal current["kind"].
            if current.get("kind") != part:
                path += f".{part}"
                current = None
        else:
            path += f".{part}" if isinstance(part, str) else f"[{part}]"
            current = None
    return path


def parse_definition(data: Any) -> SegmentDefinition:
    """Validate untrusted JSON (a dict or a JSON string) into a definition, or raise
    DefinitionError naming each problem's path."""
    if isinstance(data, SegmentDefinition):
        return data
    if isinstance(data, str | bytes):
        try:
            data = jsontext.loads(data, max_depth=MAX_DEPTH)
        except jsontext.JsonTextError as exc:
            raise DefinitionError([Problem("$", str(exc))]) from exc
    elif jsontext.depth(data) > MAX_DEPTH:
        # Before pydantic, whose recursion would overflow first.
        raise DefinitionError([Problem("$", jsontext.too_deep(MAX_DEPTH))])
    try:
        return SegmentDefinition.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(_json_path(data, tuple(err["loc"])), _message(err)) for err in exc.errors()
        ]
        raise DefinitionError(problems) from exc


def _message(err: Any) -> str:
    message = str(err["msg"])
    # pydantic prefixes validator messages with "Value error, "; the path already says where.
    return message.removeprefix("Value error, ")


def json_schema() -> dict[str, Any]:
    schema = SegmentDefinition.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Otodoke segment definition, version 1",
        **schema,
    }


def iter_conditions(node: Any) -> Any:
    """Every condition in a tree, depth first (groups included)."""
    yield node
    if isinstance(node, AllOf | AnyOf):
        for child in node.conditions:
            yield from iter_conditions(child)
    elif isinstance(node, Not):
        yield from iter_conditions(node.condition)
