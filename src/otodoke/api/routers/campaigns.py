"""Campaigns: create, test send, schedule, send, cancel, status, per-recipient results, clicks.

Every action is a call to `otodoke.campaigns.services`; this module only checks the caller's
permission, translates the request, and maps the services' refusals to API errors. Endpoints
wrap operations taking a `Caller`, which `otodoke campaign …` runs too.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ApiError, ErrorOut
from otodoke.api.lookups import require_contacts
from otodoke.api.pagination import page
from otodoke.api.routers.campaign_schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPage,
    ClickOut,
    ClickPage,
    DeliveryOut,
    PageParams,
    RecipientFilters,
    RecipientOut,
    RecipientPage,
    ScheduleIn,
    TargetIn,
    TestSendIn,
    campaign_out,
    delivery_out,
    summary_out,
)
from otodoke.api.routers.segments import definition_error
from otodoke.campaigns.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryKind,
    DeliveryRecipient,
)
from otodoke.campaigns.services import (
    CampaignStateError,
    ConfirmationRequiredError,
    cancel_campaign,
    confirm_over_quota,
    create_campaign,
    resume_campaign,
    send_campaign,
    send_test,
)
from otodoke.messaging.personalize import TemplateProblem, check_templates
from otodoke.messaging.validation import message_problems
from otodoke.segments.models import Audience, Segment
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import validate_definition
from otodoke.tracking.models import Click
from otodoke.workspaces.roles import Permission

router = Router()

_WITH_CONFLICT = {**COMMON_ERRORS, 409: ErrorOut}


def _campaign(caller: Caller, campaign_id: int) -> Campaign:
    return Campaign.objects.select_related("workspace").get(
        workspace=caller.workspace, pk=campaign_id
    )


def _check_messages(messages: list[dict[str, object]]) -> None:
    """LINE's limits and the template syntax, each problem with its `messages[i].field` path.
    The same checks `create_campaign` runs; called first only because they return paths."""
    problems = [(p.path, p.message) for p in message_problems(messages)]
    if not problems:
        try:
            check_templates(messages)
        except TemplateProblem as exc:
            problems = [(exc.path, exc.message)]
    if problems:
        raise ApiError(
            422,
            _("LINE would not accept these messages"),
            code="invalid_messages",
            details=problems,
        )


def _check_target(caller: Caller, target: TargetIn) -> None:
    """Segments and audiences named must be this workspace's, definitions valid: otherwise
    the send would fail when it starts instead of now."""
    workspace = caller.workspace
    problems: list[tuple[str, str]] = []
    for group, parts in (("include", target.include), ("exclude", target.exclude)):
        for i, part in enumerate(parts):
            path = f"target.{group}[{i}]"
            if (
                part.segment
                and not Segment.objects.filter(workspace=workspace, pk=part.segment).exists()
            ):
                problems.append((f"{path}.segment", _("No such segment")))
            if (
                part.audience
                and not Audience.objects.filter(workspace=workspace, pk=part.audience).exists()
            ):
                problems.append((f"{path}.audience", _("No such audience")))
            if part.definition is not None:
                try:
                    validate_definition(workspace, part.definition)
                except DefinitionError as exc:
                    problems.extend(definition_error(exc, f"{path}.definition").details)
    if not target.all_friends and not target.include:
        problems.append(("target", _("Choose all friends or at least one segment or audience")))
    if problems:
        raise ApiError(422, _("The target is not valid"), code="invalid_target", details=problems)


def _state_conflict(campaign: Campaign, exc: CampaignStateError) -> ApiError:
    campaign.refresh_from_db()
    if campaign.status == CampaignStatus.DRAFT:
        # send_campaign only leaves a draft unsent when approval is missing.
        return ApiError(
            409,
            _(
                "This campaign needs approval before it is sent. Approval is given by a staff "
                "member in Otodoke; API tokens cannot approve."
            ),
            code="approval_required",
        )
    return ApiError(409, " ".join(exc.messages), code="invalid_state")


@router.get("", response={200: CampaignPage, **COMMON_ERRORS}, summary="List campaigns")
def list_campaigns(request: HttpRequest, params: Query[PageParams]) -> CampaignPage:
    return campaign_page(principal(request), params)


def campaign_page(caller: Caller, params: PageParams) -> CampaignPage:
    caller.require(Permission.VIEW)
    rows, next_cursor = page(
        Campaign.objects.filter(workspace=caller.workspace),
        cursor=params.cursor,
        limit=params.limit,
    )
    return CampaignPage(items=[summary_out(c) for c in rows], next_cursor=next_cursor)


@router.post(
    "",
    response={201: CampaignOut, **COMMON_ERRORS},
    summary="Create a draft campaign",
    description="Messages are checked against LINE's limits (text 5,000 UTF-16 units, 1–5 "
    "objects, …) and each problem is reported with its path, e.g. `messages[0].text`.",
)
def create(request: HttpRequest, payload: CampaignIn) -> Status[CampaignOut]:
    return Status(201, create_draft(principal(request), payload))


def create_draft(caller: Caller, payload: CampaignIn) -> CampaignOut:
    caller.require(Permission.EDIT)
    _check_messages(payload.messages)
    _check_target(caller, payload.target)
    campaign = create_campaign(
        caller.workspace,
        name=payload.name,
        messages=payload.messages,
        target=payload.target.as_json(),
        actor=None,  # the token's write scope was checked above
        track_links=payload.track_links,
        notification_disabled=payload.notification_disabled,
    )
    return campaign_out(campaign)


@router.get(
    "/{campaign_id}",
    response={200: CampaignOut, **COMMON_ERRORS},
    summary="A campaign's status and progress",
)
def status(request: HttpRequest, campaign_id: int) -> CampaignOut:
    return read(principal(request), campaign_id)


def read(caller: Caller, campaign_id: int) -> CampaignOut:
    caller.require(Permission.VIEW)
    return campaign_out(_campaign(caller, campaign_id))


@router.post(
    "/{campaign_id}/test",
    response={202: DeliveryOut, **COMMON_ERRORS},
    summary="Send to a few chosen contacts first",
    description="Up to 20 contacts (your staff's own LINE accounts). The same rules apply: "
    "only following friends with a LINE user ID and consent receive it.",
)
def test_send(request: HttpRequest, campaign_id: int, payload: TestSendIn) -> Status[DeliveryOut]:
    return Status(202, send_to_testers(principal(request), campaign_id, payload))


def send_to_testers(caller: Caller, campaign_id: int, payload: TestSendIn) -> DeliveryOut:
    caller.require(Permission.SEND)
    campaign = _campaign(caller, campaign_id)
    require_contacts(caller.workspace, payload.contact_ids)
    return delivery_out(send_test(campaign, payload.contact_ids, actor=None))


def start(caller: Caller, campaign_id: int, at: datetime | None = None) -> CampaignOut:
    """Send now, or at `at` (already checked to be in the future)."""
    caller.require(Permission.SEND)
    campaign = _campaign(caller, campaign_id)
    try:
        send_campaign(campaign, actor=None, actor_label=caller.label, at=at)
    except CampaignStateError as exc:
        raise _state_conflict(campaign, exc) from exc
    return campaign_out(campaign)


@router.post(
    "/{campaign_id}/send",
    response={202: CampaignOut, **_WITH_CONFLICT},
    summary="Send now",
    description="Needs the `send` scope. Recipients are frozen when the send starts. A draft "
    "that still needs approval answers 409 `approval_required`; a campaign that is not a "
    "draft answers 409 `invalid_state`. A campaign goes out once.",
)
def send(request: HttpRequest, campaign_id: int) -> Status[CampaignOut]:
    return Status(202, start(principal(request), campaign_id))


@router.post(
    "/{campaign_id}/schedule",
    response={202: CampaignOut, **_WITH_CONFLICT},
    summary="Send at a given time",
    description="Needs the `send` scope; the same rules as sending now. Cancel to unschedule.",
)
def schedule(request: HttpRequest, campaign_id: int, payload: ScheduleIn) -> Status[CampaignOut]:
    return Status(202, schedule_send(principal(request), campaign_id, payload))


def schedule_send(caller: Caller, campaign_id: int, payload: ScheduleIn) -> CampaignOut:
    if payload.at <= timezone.now():
        raise ApiError(
            422, _("The request is not valid"), details=[("at", _("Must be in the future"))]
        )
    return start(caller, campaign_id, payload.at)


@router.post(
    "/{campaign_id}/resume",
    response={202: CampaignOut, **_WITH_CONFLICT},
    summary="Resume a paused (or stopped) send",
    description="Needs the `send` scope. Continues a send paused for LINE's monthly limit or "
    "stopped by a refused token, with the same batches and retry keys (nothing is sent twice). "
    "A send paused before it began because it exceeds the quota or the plan's free messages "
    "answers 409 `confirmation_required`: confirming the cost is a staff member's act (the "
    "campaign page, or `otodoke campaign resume ID --confirm --as LOGIN`); API tokens cannot "
    "confirm. Any other state answers 409 `invalid_state`.",
)
def resume(request: HttpRequest, campaign_id: int) -> Status[CampaignOut]:
    return Status(202, carry_on(principal(request), campaign_id))


def carry_on(caller: Caller, campaign_id: int, *, confirm_as: User | None = None) -> CampaignOut:
    """Resume; `confirm_as` (a staff login with approve) also confirms an over-quota send."""
    caller.require(Permission.SEND)
    campaign = _campaign(caller, campaign_id)
    try:
        if confirm_as is not None:
            confirm_over_quota(campaign, actor=confirm_as)
        else:
            resume_campaign(campaign, actor=None)
    except ConfirmationRequiredError as exc:
        raise ApiError(409, " ".join(exc.messages), code="confirmation_required") from exc
    except CampaignStateError as exc:
        raise ApiError(409, " ".join(exc.messages), code="invalid_state") from exc
    campaign.refresh_from_db()
    return campaign_out(campaign)


@router.post(
    "/{campaign_id}/cancel",
    response={200: CampaignOut, **_WITH_CONFLICT},
    summary="Cancel a draft, scheduled or running send",
    description="Batches not yet sent never go out; requests already in flight finish.",
)
def cancel(request: HttpRequest, campaign_id: int) -> CampaignOut:
    return stop(principal(request), campaign_id)


def stop(caller: Caller, campaign_id: int) -> CampaignOut:
    caller.require(Permission.SEND)
    campaign = _campaign(caller, campaign_id)
    try:
        cancel_campaign(campaign, actor=None, actor_label=caller.label)
    except CampaignStateError as exc:
        raise ApiError(409, " ".join(exc.messages), code="invalid_state") from exc
    campaign.refresh_from_db()
    return campaign_out(campaign)


@router.get(
    "/{campaign_id}/recipients",
    response={200: RecipientPage, **COMMON_ERRORS},
    summary="Per-recipient results",
    description="Who was sent to, failed, or left out and why; the live send unless "
    "`delivery_id` names a test send. LINE user IDs only with the `pii` scope.",
)
def recipients(
    request: HttpRequest, campaign_id: int, filters: Query[RecipientFilters]
) -> RecipientPage:
    return recipient_page(principal(request), campaign_id, filters)


def recipient_page(caller: Caller, campaign_id: int, filters: RecipientFilters) -> RecipientPage:
    caller.require(Permission.VIEW)
    campaign = _campaign(caller, campaign_id)
    deliveries = Delivery.objects.filter(campaign=campaign)
    delivery: Delivery | None
    if filters.delivery_id is not None:
        delivery = deliveries.get(pk=filters.delivery_id)
    else:
        delivery = deliveries.filter(kind=DeliveryKind.LIVE).first()
    if delivery is None:
        return RecipientPage(delivery_id=None, items=[], next_cursor=None)
    qs = DeliveryRecipient.objects.filter(delivery=delivery)
    if filters.status:
        qs = qs.filter(status=filters.status)
    rows, next_cursor = page(qs, cursor=filters.cursor, limit=filters.limit)
    return RecipientPage(
        delivery_id=delivery.pk,
        items=[
            RecipientOut(
                contact_id=r.contact_id,
                status=r.status,
                reason=r.reason,
                batch=r.batch_no,
                sent_at=r.sent_at,
                line_user_id=(r.line_user_id or None) if caller.sees_pii else None,
            )
            for r in rows
        ],
        next_cursor=next_cursor,
    )


@router.get(
    "/{campaign_id}/clicks",
    response={200: ClickPage, **COMMON_ERRORS},
    summary="Clicks on the campaign's tracked links",
    description="One item per click, oldest first; per-link totals are in the campaign.",
)
def clicks(request: HttpRequest, campaign_id: int, params: Query[PageParams]) -> ClickPage:
    return click_page(principal(request), campaign_id, params)


def click_page(caller: Caller, campaign_id: int, params: PageParams) -> ClickPage:
    caller.require(Permission.VIEW)
    campaign = _campaign(caller, campaign_id)
    qs = Click.objects.filter(
        link__workspace=caller.workspace, link__campaign_id=campaign.pk
    ).select_related("link")
    rows, next_cursor = page(qs, cursor=params.cursor, limit=params.limit)
    return ClickPage(
        items=[
            ClickOut(
                id=c.pk,
                link_id=c.link_id,
                url=c.link.url,
                contact_id=c.contact_id,
                clicked_at=c.clicked_at,
            )
            for c in rows
        ],
        next_cursor=next_cursor,
    )
