"""Contact list search and the read-only views of a contact the pages show.

Templates receive `ContactCard`s, never `Contact`s: the decision to mask personal data is made
here once, so no template can print a raw LINE user ID by forgetting a filter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from otodoke.campaigns.models import DeliveryKind, DeliveryRecipient, ExclusionReason
from otodoke.contacts.cleaning import domestic_phone
from otodoke.contacts.models import (
    CUSTOM_KIND_PREFIX,
    ConsentChange,
    Contact,
    ContactTag,
    Event,
    EventKind,
    Tag,
)
from otodoke.segments.compiler import years_before
from otodoke.segments.contact_search import SearchFilters
from otodoke.segments.models import Segment
from otodoke.segments.services import contacts_matching
from otodoke.segments.tags import filter_tag_names
from otodoke.web.pii import mask_email, mask_line_user_id, mask_phone
from otodoke.workspaces.models import Workspace

# The list's columns the user may pick, in display order.
COLUMN_LABELS: dict[str, Promise] = {
    "name": _("Name"),
    "kana": _("Name (kana)"),
    "number": _("Customer number"),
    "age": _("Age"),
    "gender": _("Gender"),
    "prefecture": _("Prefecture"),
    "last_visit": _("Last visit"),
    "visits": _("Visits"),
    "spent": _("Total spent"),
    "tags": _("Tags"),
    "line": _("LINE"),
    "line_user_id": _("LINE user ID"),
    "phone": _("Phone"),
}
DEFAULT_COLUMNS = (
    "name",
    "number",
    "age",
    "gender",
    "last_visit",
    "visits",
    "spent",
    "line",
    "line_user_id",
)
# Columns whose header sorts the list, and by which key of contact_search.SORTS.
SORTABLE_COLUMNS = {
    "name": "name",
    "kana": "kana",
    "age": "age",
    "last_visit": "last_visit",
    "visits": "visits",
    "spent": "spent",
}


@dataclass(frozen=True)
class ContactFilter:
    q: str = ""
    filters: SearchFilters = field(default_factory=lambda: SearchFilters(who="all"))
    segment: Segment | None = None


def default_who(workspace: Workspace, *, segment: Segment | None) -> str:
    """Customers with business data first: LINE-only friends are behind the "who" filter once
    the workspace has customers at all (a shop that only has friends so far sees them); a saved
    segment decides for itself whom it holds."""
    if segment is None and Contact.objects.in_workspace(workspace).customers().exists():
        return "customers"
    return "all"


def search_contacts(
    workspace: Workspace, query: ContactFilter, *, include_pii: bool
) -> QuerySet[Contact]:
    """Contacts matching the filter (unordered: the list sorts and pages them). Phone, e-mail
    and LINE user ID are searchable only with `include_pii`: a hit would otherwise confirm a
    number.

    The filters are compiled as the segment definition they are; a saved segment narrows the
    list to whom it matches now, compiled by the segments service like a send would; a
    definition that no longer compiles raises `DefinitionError`."""
    contacts = contacts_matching(workspace, query.filters.definition())
    if query.segment is not None:
        contacts &= contacts_matching(workspace, query.segment)
    if text := query.q.strip():
        match = (
            Q(name__icontains=text)
            | Q(name_kana__icontains=text)
            | Q(external_id__iexact=text)
            | Q(line_display_name__icontains=text)
        )
        if include_pii:
            digits = "".join(ch for ch in text if ch.isdigit())
            match |= Q(email__iexact=text) | Q(line_user_id=text)
            if len(digits) >= 4:
                match |= Q(phone__endswith=digits[-10:].lstrip("0"))
        contacts = contacts.filter(match)
    return contacts


def page_tags(contact_ids: list[int]) -> dict[int, list[str]]:
    """Each listed contact's tags, in one query for the whole page."""
    found: dict[int, list[str]] = {pk: [] for pk in contact_ids}
    rows = (
        ContactTag.objects.filter(contact_id__in=contact_ids)
        .order_by("tag__name")
        .values_list("contact_id", "tag__name")
    )
    for contact_id, name in rows:
        found[contact_id].append(name)
    return found


def tag_names(workspace: Workspace, *, chosen: str = "") -> list[str]:
    """The tag filter's and the tag suggestions' names: click-tracking tags only when one is
    the chosen filter (a link to "who clicked" still works)."""
    names = filter_tag_names(workspace)
    if (
        chosen
        and chosen not in names
        and Tag.objects.filter(workspace=workspace, name=chosen).exists()
    ):
        names.append(chosen)
    return names


def segment_choices(workspace: Workspace) -> QuerySet[Segment]:
    return Segment.objects.filter(workspace=workspace).order_by("name", "id")


@dataclass(frozen=True)
class ContactCard:
    pk: int
    label: str
    external_id: str
    name: str
    name_kana: str
    gender: str
    birth_date: date | None
    prefecture: str
    email: str
    phone: str
    line_user_id: str
    line_display_name: str
    line_status: str
    line_status_label: str
    line_followed_at: datetime | None
    line_unfollowed_at: datetime | None
    line_linked_at: datetime | None
    marketing_consent: bool
    visit_count: int
    last_visit_at: datetime | None
    total_spent: int
    attributes: dict[str, Any]
    pii_masked: bool
    age: int | None = None
    tags: tuple[str, ...] = ()
    has_line: bool = False


def age_on(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    age = today.year - birth_date.year
    return age if years_before(today, age) >= birth_date else age - 1


def contact_card(
    contact: Contact,
    *,
    show_pii: bool,
    today: date | None = None,
    tags: list[str] | None = None,
) -> ContactCard:
    return ContactCard(
        pk=contact.pk,
        label=str(contact),
        external_id=contact.external_id or "",
        name=contact.name,
        name_kana=contact.name_kana,
        gender=contact.get_gender_display(),
        birth_date=contact.birth_date,
        prefecture=contact.prefecture,
        email=contact.email if show_pii else mask_email(contact.email),
        phone=domestic_phone(contact.phone) if show_pii else mask_phone(contact.phone),
        line_user_id=(
            (contact.line_user_id or "") if show_pii else mask_line_user_id(contact.line_user_id)
        ),
        line_display_name=contact.line_display_name,
        line_status=contact.line_status,
        line_status_label=contact.get_line_status_display(),
        line_followed_at=contact.line_followed_at,
        line_unfollowed_at=contact.line_unfollowed_at,
        line_linked_at=contact.line_linked_at,
        marketing_consent=contact.marketing_consent,
        visit_count=contact.visit_count,
        last_visit_at=contact.last_visit_at,
        total_spent=contact.total_spent,
        attributes=dict(contact.attributes or {}),
        pii_masked=not show_pii,
        age=age_on(contact.birth_date, today) if today else None,
        tags=tuple(tags or ()),
        has_line=contact.line_user_id is not None,
    )


@dataclass(frozen=True)
class TagBadge:
    name: str
    added_at: datetime
    source: str


def contact_tags(contact: Contact) -> list[TagBadge]:
    rows = ContactTag.objects.filter(contact=contact).select_related("tag").order_by("tag__name")
    return [TagBadge(r.tag.name, r.added_at, r.get_source_display()) for r in rows]


def consent_history(contact: Contact, *, limit: int = 20) -> list[ConsentChange]:
    """Who changed the marketing consent by hand and when, newest first."""
    return list(ConsentChange.objects.filter(contact=contact)[:limit])


# Event property keys the importer and the API name in English, as the history shows them;
# any other key is the shop's own word and is shown as written.
PROPERTY_LABELS: dict[str, Promise] = {
    "item": _("Item"),
    "category": _("Category"),
    "quantity": _("Quantity"),
    "price": _("Price"),
    "staff": _("Staff"),
    "store": _("Store"),
    "menu": _("Menu"),
    "coupon": _("Coupon"),
}


@dataclass(frozen=True)
class EventLine:
    occurred_at: datetime
    label: str
    amount: int | None
    properties: dict[str, Any]

    @property
    def details(self) -> list[tuple[str, str]]:
        """(label, value) per property, in the UI's language where the key is a known one."""
        # PostgreSQL's jsonb does not keep the keys' order: known keys first, in a fixed
        # order, then the shop's own keys by name, so both databases show the same line.
        known = list(PROPERTY_LABELS)
        keys = sorted(
            self.properties, key=lambda k: (k not in known, known.index(k) if k in known else 0, k)
        )
        return [
            (str(PROPERTY_LABELS.get(key, key)), _property_text(self.properties[key]))
            for key in keys
        ]


def _property_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, list):
        return "、".join(_property_text(v) for v in value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def event_label(kind: str) -> str:
    if kind in EventKind.values:
        return str(EventKind(kind).label)
    return kind.removeprefix(CUSTOM_KIND_PREFIX)


def contact_events(contact: Contact, *, limit: int = 100) -> list[EventLine]:
    """The latest events first: the timeline of the contact page."""
    events = Event.objects.filter(contact=contact).order_by("-occurred_at", "-id")[:limit]
    return [
        EventLine(e.occurred_at, event_label(e.kind), e.amount, dict(e.properties or {}))
        for e in events
    ]


@dataclass(frozen=True)
class ReceivedCampaign:
    campaign_id: int
    name: str
    status: str  # the recipient's outcome, translated
    reason: str
    at: datetime | None


def contact_campaigns(contact: Contact, *, limit: int = 20) -> list[ReceivedCampaign]:
    """The campaigns this contact was a recipient of (live sends only), newest first, with
    what happened to them: sent, failed or excluded and why."""
    reasons = dict(ExclusionReason.choices)
    rows = (
        DeliveryRecipient.objects.filter(
            contact_id=contact.pk,
            delivery__kind=DeliveryKind.LIVE,
            delivery__campaign__workspace_id=contact.workspace_id,
        )
        .select_related("delivery__campaign")
        .order_by("-delivery__created_at", "-id")[:limit]
    )
    return [
        ReceivedCampaign(
            campaign_id=row.delivery.campaign_id,
            name=row.delivery.campaign.name,
            status=row.get_status_display(),
            reason=str(reasons.get(row.reason, row.reason)),
            at=row.sent_at,
        )
        for row in rows
    ]
