"""Named actions on campaigns: create, test send, approve, schedule/send, confirm, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.campaigns.models import (
    ACTIVE_DELIVERY_STATUSES,
    Batch,
    BatchStatus,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryKind,
    DeliveryRecipient,
    DeliveryStatus,
    RecipientStatus,
)
from otodoke.campaigns.targets import check_target
from otodoke.messaging.personalize import TemplateProblem, check_templates
from otodoke.messaging.validation import MessageValidationError, validate_messages
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, record_audit, require


class CampaignStateError(ValidationError):
    pass


class ConfirmationRequiredError(CampaignStateError):
    """The send is paused for a person with the approve permission to confirm its quota/cost."""


def needs_confirmation(delivery: Delivery) -> bool:
    """Paused by the pre-send check because not every message fits in this month's limit
    (LINE's or the plan's), some do, and nobody has confirmed sending up to it yet: resuming
    alone would only pause it again. When nothing fits, the one way on is to wait for next
    month and resume (the check runs again)."""
    quota = delivery.quota or {}
    return (
        delivery.status == DeliveryStatus.PAUSED
        and delivery.started_at is None
        and delivery.quota_confirmed_by_id is None
        and bool(quota.get("exceeds_quota") or quota.get("allowed_by_plan") is False)
        and bool(quota.get("remaining", 1))
    )


def confirmation_message(delivery: Delivery) -> str:
    return _(
        "Only part of this send fits in this month's message limit: someone with the approve "
        "permission must confirm sending up to the limit; resuming alone would pause it again."
    )


def _check_messages(messages: Any) -> list[dict[str, Any]]:
    try:
        checked = validate_messages(messages)
        check_templates(checked)
    except MessageValidationError as exc:
        raise ValidationError({"messages": [str(p) for p in exc.problems]}) from exc
    except TemplateProblem as exc:
        raise ValidationError({"messages": [str(exc)]}) from exc
    return checked


def create_campaign(
    workspace: Workspace,
    *,
    name: str,
    messages: Any,
    target: dict[str, Any],
    actor: AnyUser | None,
    track_links: bool = True,
    notification_disabled: bool = False,
) -> Campaign:
    """A draft. Messages (LINE's limits, template syntax) and the target are checked now."""
    if actor is not None:
        require(actor, workspace, Permission.EDIT)
    check_target(target)
    user = actor if actor is not None and actor.is_authenticated else None
    return Campaign.objects.create(
        workspace=workspace,
        name=name,
        messages=_check_messages(messages),
        target=target,
        track_links=track_links,
        notification_disabled=notification_disabled,
        created_by=user,
    )


@transaction.atomic
def update_draft(
    campaign: Campaign,
    *,
    name: str,
    messages: Any,
    target: dict[str, Any],
    actor: AnyUser | None,
    track_links: bool = True,
    notification_disabled: bool = False,
) -> Campaign:
    """Change a draft, checked like a new one. Once a send is scheduled or has started the
    campaign is what was sent and cannot change (copy it instead). Changing the messages or
    the target withdraws an approval: the approver approved what they saw."""
    if actor is not None:
        require(actor, campaign.workspace, Permission.EDIT)
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != CampaignStatus.DRAFT:
        raise CampaignStateError(
            _(
                "This campaign is %(status)s and can no longer be edited; "
                "copy it to a new draft instead."
            )
            % {"status": locked.get_status_display()}
        )
    check_target(target)
    checked = _check_messages(messages)
    if locked.approved_at is not None and (checked != locked.messages or target != locked.target):
        locked.approved_by = None
        locked.approved_at = None
    locked.name = name
    locked.messages = checked
    locked.target = target
    locked.track_links = track_links
    locked.notification_disabled = notification_disabled
    locked.save()
    return locked


def _enqueue(delivery: Delivery) -> None:
    from otodoke.campaigns.tasks import run_delivery

    run_after = delivery.run_after
    task = run_delivery.using(run_after=run_after) if run_after else run_delivery
    delivery_id = delivery.pk
    transaction.on_commit(lambda: task.enqueue(delivery_id))


@transaction.atomic
def send_test(campaign: Campaign, contact_ids: list[int], *, actor: AnyUser | None) -> Delivery:
    """Send the campaign to a few chosen contacts (staff's own LINE accounts) before approval.
    The same rules apply: only following friends with a LINE ID and consent get it."""
    if actor is not None:
        require(actor, campaign.workspace, Permission.SEND)
    delivery = Delivery.objects.create(
        campaign=campaign, kind=DeliveryKind.TEST, test_contact_ids=list(contact_ids)
    )
    _enqueue(delivery)
    return delivery


@transaction.atomic
def approve_campaign(campaign: Campaign, *, actor: AnyUser) -> None:
    """Approval by someone other than the author, with the approve permission (audited)."""
    require(actor, campaign.workspace, Permission.APPROVE)
    if campaign.created_by_id is not None and campaign.created_by_id == actor.pk:
        raise PermissionDenied(_("The author of a campaign cannot approve it"))
    approved = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.DRAFT).update(
        approved_by=actor, approved_at=timezone.now()
    )
    if not approved:
        raise CampaignStateError(_("Only a draft can be approved"))
    record_audit(
        campaign.workspace,
        AuditAction.CAMPAIGN_APPROVED,
        actor=actor,
        target=f"campaign:{campaign.pk}",
    )
    campaign.refresh_from_db()


def check_sendable(campaign: Campaign) -> None:
    """What `send_campaign` would refuse, asked before a person is shown the confirmation."""
    campaign.refresh_from_db()
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateError(
            _("This campaign is %(status)s, not a draft") % {"status": campaign.status}
        )
    if campaign.workspace.require_approval and campaign.approved_at is None:
        raise CampaignStateError(_("This campaign needs approval before it is sent"))


@transaction.atomic
def send_campaign(
    campaign: Campaign,
    *,
    actor: AnyUser | None,
    at: datetime | None = None,
    actor_label: str | None = None,
) -> Delivery:
    """Send now, or at `at` (an aware datetime; naive ones are read in the workspace time
    zone). The recipients are frozen when the send starts, not now."""
    workspace = campaign.workspace
    if actor is not None:
        require(actor, workspace, Permission.SEND)
    if at is not None and timezone.is_naive(at):
        at = timezone.make_aware(at, workspace.tzinfo)
    scheduled = at is not None and at > timezone.now()
    needs_approval = Q(approved_at__isnull=False) if workspace.require_approval else Q()
    moved = Campaign.objects.filter(
        needs_approval, pk=campaign.pk, status=CampaignStatus.DRAFT
    ).update(
        status=CampaignStatus.SCHEDULED if scheduled else CampaignStatus.SENDING,
        scheduled_at=at,
    )
    if not moved:
        campaign.refresh_from_db()
        if campaign.status == CampaignStatus.DRAFT:
            raise CampaignStateError(_("This campaign needs approval before it is sent"))
        raise CampaignStateError(
            _("This campaign is %(status)s, not a draft") % {"status": campaign.status}
        )
    delivery = Delivery.objects.create(
        campaign=campaign, kind=DeliveryKind.LIVE, run_after=at if scheduled else None
    )
    record_audit(
        workspace,
        AuditAction.CAMPAIGN_SENT,
        actor=actor,
        label=actor_label,
        target=f"campaign:{campaign.pk}",
        details={"scheduled_at": at.isoformat() if at else None},
    )
    _enqueue(delivery)
    campaign.refresh_from_db()
    return delivery


def live_delivery(campaign: Campaign) -> Delivery | None:
    return Delivery.objects.filter(campaign=campaign, kind=DeliveryKind.LIVE).first()


@transaction.atomic
def confirm_over_quota(campaign: Campaign, *, actor: AnyUser) -> Delivery:
    """Send up to this month's limit: the recipients that fit get it, the rest are recorded as
    not sent (over the month's limit)."""
    require(actor, campaign.workspace, Permission.APPROVE)
    delivery = live_delivery(campaign)
    if delivery is None:
        raise CampaignStateError(_("This campaign has not been sent"))
    if not needs_confirmation(delivery):
        raise CampaignStateError(_("This send is not waiting for a confirmation of its limit"))
    Delivery.objects.filter(pk=delivery.pk).update(quota_confirmed_by=actor)
    record_audit(
        campaign.workspace,
        AuditAction.QUOTA_OVERRIDE,
        actor=actor,
        target=f"campaign:{campaign.pk}",
        details=delivery.quota,
    )
    return resume_campaign(campaign, actor=actor)


@transaction.atomic
def resume_campaign(campaign: Campaign, *, actor: AnyUser | None) -> Delivery:
    """Continue a paused send (quota) with the same batches and retry keys."""
    if actor is not None:
        require(actor, campaign.workspace, Permission.SEND)
    delivery = live_delivery(campaign)
    if delivery is None:
        raise CampaignStateError(_("This campaign has not been sent"))
    if needs_confirmation(delivery):
        raise ConfirmationRequiredError(confirmation_message(delivery))
    open_batches = Batch.objects.filter(
        delivery=delivery, status__in=[BatchStatus.PENDING, BatchStatus.IN_FLIGHT]
    )
    if (
        delivery.status == DeliveryStatus.FAILED
        and delivery.started_at
        and delivery.planned_at is not None
        and not open_batches.exists()
    ):
        # Every batch has its outcome (LINE refused them): there is nothing left to send.
        raise CampaignStateError(_("Every batch of this send has finished; nothing is left"))
    # Paused before sending began (quota check) goes back to READY, otherwise to SENDING.
    back = DeliveryStatus.SENDING if delivery.started_at else DeliveryStatus.READY
    moved = Delivery.objects.filter(
        pk=delivery.pk, status__in=[DeliveryStatus.PAUSED, DeliveryStatus.FAILED]
    ).update(status=back, reason="")
    if not moved:
        raise CampaignStateError(_("Only a paused or failed send can be resumed"))
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING, status_reason="")
    _enqueue(delivery)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def cancel_campaign(
    campaign: Campaign, *, actor: AnyUser | None, actor_label: str | None = None
) -> None:
    """Stop sending: batches not yet sent never go out (in-flight ones finish)."""
    if actor is not None:
        require(actor, campaign.workspace, Permission.SEND)
    moved = Campaign.objects.filter(
        pk=campaign.pk,
        status__in=[
            CampaignStatus.DRAFT,
            CampaignStatus.SCHEDULED,
            CampaignStatus.SENDING,
            CampaignStatus.PAUSED,
        ],
    ).update(status=CampaignStatus.CANCELLED)
    if not moved:
        raise CampaignStateError(_("This campaign can no longer be cancelled"))
    deliveries = Delivery.objects.filter(
        campaign=campaign, status__in=[*ACTIVE_DELIVERY_STATUSES, DeliveryStatus.PAUSED]
    )
    ids = list(deliveries.values_list("id", flat=True))
    deliveries.update(status=DeliveryStatus.CANCELLED, finished_at=timezone.now())
    for delivery_id in ids:
        Batch.objects.filter(delivery_id=delivery_id, status=BatchStatus.PENDING).update(
            status=BatchStatus.CANCELLED
        )
        cancelled = Batch.objects.filter(delivery_id=delivery_id, status=BatchStatus.CANCELLED)
        DeliveryRecipient.objects.filter(
            delivery_id=delivery_id,
            status=RecipientStatus.PENDING,
            batch_no__in=cancelled.values("number"),
        ).update(status=RecipientStatus.CANCELLED)
        # Not planned yet (a personalised send still rendering): they never will be.
        DeliveryRecipient.objects.filter(
            delivery_id=delivery_id, status=RecipientStatus.PENDING, batch_no__isnull=True
        ).update(status=RecipientStatus.CANCELLED)
    record_audit(
        campaign.workspace,
        AuditAction.CAMPAIGN_CANCELLED,
        actor=actor,
        label=actor_label,
        target=f"campaign:{campaign.pk}",
    )
