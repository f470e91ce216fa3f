"""Contact list search and the read-only views of a contact the pages show.

Templates receive `ContactCard`s, never `Contact`s: the decision to mask personal data is made
here once, so no template can print a raw LINE user ID by forgetting a filter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet

from otodoke.campaigns.models import DeliveryKind, DeliveryRecipient, ExclusionReason
from otodoke.contacts.cleaning import domestic_phone
from otodoke.contacts.models import (
    CUSTOM_KIND_PREFIX,
    ConsentChange,
    Contact,
    ContactTag,
    Event,
    EventKind,
    LineStatus,
    Tag,
)
from otodoke.segments.models import Segment
from otodoke.segments.services import contacts_matching
from otodoke.segments.tags import filter_tag_names
from otodoke.web.pii import mask_email, mask_line_user_id, mask_phone
from otodoke.workspaces.models import Workspace


@dataclass(frozen=True)
class ContactFilter:
    q: str = ""
    line_status: str = ""
    tag: str = ""
    consent: str = ""  # "" | "yes" | "no"
    segment: Segment | None = None


def search_contacts(
    workspace: Workspace, query: ContactFilter, *, include_pii: bool
) -> QuerySet[Contact]:
    """Contacts matching the filter, most recently updated first. Phone, e-mail and LINE user
    ID are searchable only with `include_pii`: a hit would otherwise confirm a number.

    A saved segment narrows the list to whom it matches now, compiled by the segments service
    like a send would; a definition that no longer compiles raises `DefinitionError`."""
    if query.segment is not None:
        contacts = contacts_matching(workspace, query.segment)
    else:
        contacts = Contact.objects.in_workspace(workspace)
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
    if query.line_status in LineStatus.values:
        contacts = contacts.filter(line_status=query.line_status)
    if query.tag:
        contacts = contacts.filter(contact_tags__tag__name=query.tag)
    if query.consent in {"yes", "no"}:
        contacts = contacts.filter(marketing_consent=query.consent == "yes")
    return contacts.order_by("-updated_at", "-id")


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


def contact_card(contact: Contact, *, show_pii: bool) -> ContactCard:
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


@dataclass(frozen=True)
class EventLine:
    occurred_at: datetime
    label: str
    amount: int | None
    properties: dict[str, Any]


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
