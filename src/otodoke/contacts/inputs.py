"""Plain data passed into the contact services and the results they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Contact fields an upsert may set (already cleaned; see `cleaning.clean_contact_fields`).
CONTACT_FIELDS: tuple[str, ...] = (
    "name",
    "name_kana",
    "gender",
    "birth_date",
    "prefecture",
    "email",
    "phone",
    "marketing_consent",
    "baseline_first_visit_at",
    "baseline_last_visit_at",
    "baseline_visit_count",
    "baseline_purchase_count",
    "baseline_total_spent",
    "baseline_last_purchase_at",
)
BASELINE_FIELDS: tuple[str, ...] = tuple(f for f in CONTACT_FIELDS if f.startswith("baseline_"))


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: `row` is the line number in the file (the header is line 1), `column`
    the file's column (or a field name when the input did not come from a file)."""

    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(slots=True)
class ContactInput:
    """One contact to create or update, keyed by `external_id` (or by `line_user_id` for a
    LINE-only contact). `values` holds only the fields the source provided: a field that is
    absent is left as it is, so an import never erases data another source put there."""

    row: int = 0
    external_id: str | None = None
    line_user_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class EventInput:
    row: int = 0
    external_id: str | None = None
    contact_id: int | None = None
    contact_external_id: str | None = None
    kind: str = "custom:event"
    occurred_at: datetime | None = None
    amount: int | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = "api"


@dataclass(slots=True)
class LinkInput:
    row: int = 0
    line_user_id: str = ""
    contact_id: int | None = None
    external_id: str | None = None


@dataclass(slots=True)
class Result:
    """Counts of one service call or one whole import."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    errors: list[RowError] = field(default_factory=list)
    contact_ids: set[int] = field(default_factory=set)

    def add(self, other: Result) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.merged += other.merged
        self.errors.extend(other.errors)
        self.contact_ids |= other.contact_ids
