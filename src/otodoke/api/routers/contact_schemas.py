"""Contact schemas at the API edge and their translation into the contacts services' inputs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field, StringConstraints

from otodoke.api.errors import ErrorDetail
from otodoke.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from otodoke.api.schemas import MAX_BULK_ITEMS, BulkCounts, ItemResult, UtcDateTime
from otodoke.contacts import cleaning
from otodoke.contacts.inputs import ContactInput
from otodoke.contacts.models import Contact
from otodoke.segments.contact_search import SearchFilters

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(max_length=200)]
LineStatusName = Literal["none", "following", "blocked"]


class ContactFields(Schema):
    """Fields an upsert may set. A field left out (or null) is left as it is; an empty string
    clears a text field. Values are normalised like a CSV import: phone numbers to E.164
    (Japanese numbers without +81 are fine), prefectures to their full name, dates in
    1990-01-02 or Japanese-era form, gender as male/female/other/unknown or 男/女."""

    name: Text | None = None
    name_kana: Text | None = None
    gender: Text | None = None
    birth_date: Text | None = None
    prefecture: Text | None = None
    email: Text | None = None
    phone: Text | None = None
    line_user_id: Text | None = None
    marketing_consent: bool | None = None
    attributes: dict[str, Any] | None = Field(default=None, description="merged into stored ones")
    tags: list[TagName] = Field(default=[], max_length=50, description="added, never removed")


class ContactUpsertIn(ContactFields):
    external_id: ExternalId | None = Field(
        default=None, description="your customer number; required unless line_user_id is given"
    )


class ContactBulkIn(Schema):
    contacts: list[ContactUpsertIn] = Field(min_length=1, max_length=MAX_BULK_ITEMS)


class ContactBulkOut(BulkCounts):
    merged: int
    results: list[ItemResult]


class ContactUnlinkedOut(Schema):
    contact: int
    friend_contact: int = Field(description="The LINE friend, now a friend-only contact")


class ContactDeletedOut(Schema):
    contact: int
    deleted: bool
    removed: dict[str, int] = Field(description="How many of the person's rows went, by kind")


class ContactOut(Schema):
    id: int
    external_id: str | None
    name: str
    name_kana: str
    gender: str
    birth_date: date | None
    prefecture: str
    # PII: null unless the token has the `pii` scope.
    email: str | None
    phone: str | None
    line_user_id: str | None
    has_line: bool
    line_status: str
    line_followed_at: datetime | None
    marketing_consent: bool
    attributes: dict[str, Any]
    tags: list[str]
    first_visit_at: datetime | None
    last_visit_at: datetime | None
    visit_count: int
    purchase_count: int
    total_spent: int
    last_purchase_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ContactPage(Schema):
    items: list[ContactOut]
    next_cursor: str | None


class ContactFilters(Schema):
    q: Text | None = Field(default=None, description="part of the name or kana, or customer no.")
    external_id: ExternalId | None = None
    tag: TagName | None = None
    line_status: LineStatusName | None = None
    # Filtering by personal data reveals it, so these need the `pii` scope.
    email: Text | None = Field(default=None, description="needs the pii scope")
    phone: Text | None = Field(default=None, description="needs the pii scope")
    line_user_id: Text | None = Field(default=None, description="needs the pii scope")
    updated_since: UtcDateTime | None = Field(
        default=None, description="contacts changed at or after this time (with an offset)"
    )
    # The customer search of the contact list (the same segment definition underneath).
    age_min: int | None = Field(default=None, ge=0, le=150, description="age in whole years")
    age_max: int | None = Field(default=None, ge=0, le=150)
    gender: list[Literal["male", "female", "other", "unknown"]] | None = None
    birth_month: list[Annotated[int, Field(ge=1, le=12)]] | None = None
    prefecture: list[Annotated[str, StringConstraints(max_length=10)]] | None = Field(
        default=None, description="full Japanese names, e.g. 東京都"
    )
    last_visit: Literal["within", "before", "never"] | None = Field(
        default=None,
        description="within: on or after the start of the local day last_visit_days ago; "
        "before: before it (more than that many days ago); never: no visit recorded",
    )
    last_visit_days: int | None = Field(default=None, ge=0, le=36500)
    visits_min: int | None = Field(default=None, ge=0)
    visits_max: int | None = Field(default=None, ge=0)
    spent_min: int | None = Field(default=None, ge=0, description="total spent, yen")
    spent_max: int | None = Field(default=None, ge=0)
    line: Literal["linked", "following", "blocked", "not_linked"] | None = None
    consent: bool | None = None
    who: Literal["customers", "line_only", "all"] = Field(
        default="all", description="customers: with a customer number; line_only: without"
    )
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def search_filters(filters: ContactFilters) -> SearchFilters:
    """The customer-search part of the query, as the contact list's SearchFilters."""
    last_visit = filters.last_visit or ""
    if last_visit in {"within", "before"} and filters.last_visit_days is None:
        raise ValueError("last_visit_days")
    return SearchFilters(
        age_min=filters.age_min,
        age_max=filters.age_max,
        genders=tuple(filters.gender or ()),
        birth_months=tuple(filters.birth_month or ()),
        prefectures=tuple(filters.prefecture or ()),
        last_visit=last_visit,
        last_visit_days=filters.last_visit_days,
        visits_min=filters.visits_min,
        visits_max=filters.visits_max,
        spent_min=filters.spent_min,
        spent_max=filters.spent_max,
        line=filters.line or "",
        consent="" if filters.consent is None else ("yes" if filters.consent else "no"),
        who=filters.who,
    )


def contact_out(contact: Contact, *, pii: bool) -> ContactOut:
    """`contact` should come with `contact_tags__tag` prefetched."""
    return ContactOut(
        id=contact.pk,
        external_id=contact.external_id,
        name=contact.name,
        name_kana=contact.name_kana,
        gender=contact.gender,
        birth_date=contact.birth_date,
        prefecture=contact.prefecture,
        email=contact.email if pii else None,
        phone=contact.phone if pii else None,
        line_user_id=contact.line_user_id if pii else None,
        has_line=contact.line_user_id is not None,
        line_status=contact.line_status,
        line_followed_at=contact.line_followed_at,
        marketing_consent=contact.marketing_consent,
        attributes=contact.attributes,
        tags=sorted(ct.tag.name for ct in contact.contact_tags.all()),
        first_visit_at=contact.first_visit_at,
        last_visit_at=contact.last_visit_at,
        visit_count=contact.visit_count,
        purchase_count=contact.purchase_count,
        total_spent=contact.total_spent,
        last_purchase_at=contact.last_purchase_at,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


_CLEANERS: dict[str, Callable[[str], Any]] = {
    "name": cleaning.clean_text,
    "name_kana": cleaning.clean_text,
    "gender": cleaning.clean_gender,
    "birth_date": cleaning.clean_birth_date,
    "prefecture": cleaning.clean_prefecture,
    "email": cleaning.clean_email,
    "phone": cleaning.clean_phone,
}
# What an empty string stores, per field ("" clears text; a date becomes unknown).
_EMPTY: dict[str, Any] = {"birth_date": None, "gender": "unknown"}


def join_path(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def to_input(
    item: ContactFields, *, row: int, path: str, external_id: str | None
) -> tuple[ContactInput | None, list[ErrorDetail]]:
    """The service input for one item, or the per-field errors that keep it out."""
    errors: list[ErrorDetail] = []
    values: dict[str, Any] = {}
    for field, clean in _CLEANERS.items():
        raw = getattr(item, field)
        if raw is None:
            continue
        if not raw.strip():
            values[field] = _EMPTY.get(field, "")
            continue
        try:
            values[field] = clean(raw)
        except cleaning.CleanError as exc:
            errors.append(ErrorDetail(path=join_path(path, field), message=str(exc)))
    if item.marketing_consent is not None:
        values["marketing_consent"] = item.marketing_consent
    line_user_id = None
    if item.line_user_id:
        try:
            line_user_id = cleaning.clean_line_user_id(item.line_user_id)
        except cleaning.CleanError as exc:
            errors.append(ErrorDetail(path=join_path(path, "line_user_id"), message=str(exc)))
    if external_id is None and line_user_id is None and not errors:
        errors.append(
            ErrorDetail(
                path=join_path(path, "external_id"),
                message=_("A customer number (external_id) or a LINE user ID is required"),
            )
        )
    if errors:
        return None, errors
    return (
        ContactInput(
            row=row,
            external_id=external_id,
            line_user_id=line_user_id,
            values=values,
            attributes=item.attributes or {},
            tags=list(dict.fromkeys(item.tags)),
        ),
        [],
    )
