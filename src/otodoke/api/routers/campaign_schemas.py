"""Campaign schemas at the API edge and the conversions from the campaigns app's models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, Field, StringConstraints, model_validator

from otodoke.api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from otodoke.api.routers.segments import Cursor, Definition
from otodoke.api.schemas import UtcDateTime
from otodoke.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryKind
from otodoke.tracking.models import TrackedLink

DB_ID = Annotated[int, Field(ge=1, le=2**63 - 1)]
CampaignName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
# A test send goes to staff's own LINE accounts: a handful, never a real audience.
MAX_TEST_RECIPIENTS = 20
RecipientStatusName = Literal[
    "pending", "sent", "failed", "excluded", "unknown", "cancelled", "blocked"
]


class TargetPart(Schema):
    """Exactly one of: a saved segment, an audience, an unsaved definition, contact ids."""

    segment: DB_ID | None = None
    audience: DB_ID | None = None
    definition: Definition | None = None
    contacts: list[DB_ID] | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetPart:
        if len(self.given()) != 1:
            raise ValueError(_("Give exactly one of segment, audience, definition, contacts"))
        return self

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class TargetIn(Schema):
    all_friends: bool = Field(default=False, description="every friend who may receive it")
    include: list[TargetPart] = Field(default=[], max_length=20)
    exclude: list[TargetPart] = Field(default=[], max_length=20)

    def as_json(self) -> dict[str, Any]:
        return {
            "all_friends": self.all_friends,
            "include": [p.given() for p in self.include],
            "exclude": [p.given() for p in self.exclude],
        }


def _has_type(message: dict[str, Any]) -> dict[str, Any]:
    # The messaging validator assumes a "type" (line-bot-sdk raises KeyError without one), so
    # the edge makes sure there is one; everything else is checked there, with LINE's limits.
    if not isinstance(message.get("type"), str) or not message["type"]:
        raise ValueError(_('A message object needs a "type" such as "text"'))
    return message


MessageObject = Annotated[dict[str, Any], AfterValidator(_has_type)]


class CampaignIn(Schema):
    name: CampaignName
    messages: list[MessageObject] = Field(
        description="1 to 5 LINE message objects, checked against LINE's limits; text may "
        'use placeholders such as {{ name | default("お客様") }}',
        examples=[[{"type": "text", "text": "{{ name }}様、春のセールのお知らせです"}]],
    )
    target: TargetIn
    track_links: bool = True
    notification_disabled: bool = False


class TestSendIn(Schema):
    contact_ids: list[DB_ID] = Field(min_length=1, max_length=MAX_TEST_RECIPIENTS)


class ScheduleIn(Schema):
    at: UtcDateTime = Field(description="when to send, with a time zone offset; in the future")


class DeliveryOut(Schema):
    id: int
    kind: Literal["live", "test"]
    status: str
    reason: str
    method: str
    run_after: datetime | None
    total: int
    eligible: int
    excluded: int
    sent: int
    failed: int
    unknown: int
    blocked: int = Field(description="Sent to, but they had blocked the account by then")
    progress: float = Field(description="0–100: recipients with a final outcome")
    planning: float | None = Field(
        None,
        description="0–100 while a personalised send is still rendering its recipients' "
        "messages (they are planned in chunks while earlier ones are sent); null when done",
    )
    # What LINE said about this month's quota before sending, and what the send would cost.
    quota: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class LinkOut(Schema):
    id: int
    url: str
    clicks: int
    contacts: int = Field(description="distinct contacts who clicked")


class CampaignSummary(Schema):
    id: int
    name: str
    status: str
    scheduled_at: datetime | None
    created_at: datetime


class CampaignPage(Schema):
    items: list[CampaignSummary]
    next_cursor: str | None


class CampaignOut(CampaignSummary):
    status_reason: str
    messages: list[dict[str, Any]]
    target: dict[str, Any]
    track_links: bool
    notification_disabled: bool
    needs_approval: bool = Field(
        description="the workspace requires approval and nobody has approved yet; approval "
        "is given by a staff member in Otodoke, never by an API token"
    )
    approved_at: datetime | None
    live: DeliveryOut | None
    tests: list[DeliveryOut] = Field(description="the latest test sends, newest first")
    links: list[LinkOut]


class RecipientFilters(Schema):
    delivery_id: DB_ID | None = Field(
        default=None, description="a test send; default: the live send"
    )
    status: RecipientStatusName | None = None
    cursor: Cursor | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class RecipientOut(Schema):
    contact_id: int
    status: str
    reason: str
    batch: int | None
    sent_at: datetime | None
    line_user_id: str | None = Field(description="null unless the token has the `pii` scope")


class RecipientPage(Schema):
    delivery_id: int | None
    items: list[RecipientOut]
    next_cursor: str | None


class PageParams(Schema):
    cursor: Cursor | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ClickOut(Schema):
    id: int
    link_id: int
    url: str
    contact_id: int | None = Field(description="null when the click could not be tied to one")
    clicked_at: datetime


class ClickPage(Schema):
    items: list[ClickOut]
    next_cursor: str | None


def delivery_out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.pk,
        kind=delivery.kind,  # type: ignore[arg-type]
        status=delivery.status,
        reason=delivery.reason,
        method=delivery.method,
        run_after=delivery.run_after,
        total=delivery.total,
        eligible=delivery.eligible,
        excluded=delivery.excluded,
        sent=delivery.sent,
        failed=delivery.failed,
        unknown=delivery.unknown,
        blocked=delivery.blocked,
        progress=delivery.progress,
        planning=delivery.planning,
        quota=delivery.quota,
        created_at=delivery.created_at,
        started_at=delivery.started_at,
        finished_at=delivery.finished_at,
    )


def summary_out(campaign: Campaign) -> CampaignSummary:
    return CampaignSummary(
        id=campaign.pk,
        name=campaign.name,
        status=campaign.status,
        scheduled_at=campaign.scheduled_at,
        created_at=campaign.created_at,
    )


def campaign_out(campaign: Campaign) -> CampaignOut:
    deliveries = list(Delivery.objects.filter(campaign=campaign).order_by("-created_at", "-id"))
    live = next((d for d in deliveries if d.kind == DeliveryKind.LIVE), None)
    tests = [d for d in deliveries if d.kind == DeliveryKind.TEST][:5]
    links = (
        TrackedLink.objects.filter(workspace_id=campaign.workspace_id, campaign_id=campaign.pk)
        .annotate(n=Count("clicks"), people=Count("clicks__contact", distinct=True))
        .order_by("pk")
    )
    return CampaignOut(
        **summary_out(campaign).model_dump(),
        status_reason=campaign.status_reason,
        messages=campaign.messages,
        target=campaign.target,
        track_links=campaign.track_links,
        notification_disabled=campaign.notification_disabled,
        needs_approval=(
            campaign.workspace.require_approval
            and campaign.approved_at is None
            and campaign.status == CampaignStatus.DRAFT
        ),
        approved_at=campaign.approved_at,
        live=delivery_out(live) if live else None,
        tests=[delivery_out(d) for d in tests],
        links=[
            LinkOut(id=link.pk, url=link.url, clicks=link.n, contacts=link.people) for link in links
        ],
    )
