"""One delivery from queued to done: freeze and plan, check the quota, dispatch, finish.

A personalised send is planned in chunks: the freeze plans the first one, the dispatcher the
rest between its claims (`campaigns.chunks`), so its first request does not wait for the render
of every recipient.

`run_delivery` is what the task runs, and is safe to run any number of times, concurrently or
after a crash: every phase change is a conditional UPDATE, freezing and planning happen in one
transaction, and sending claims batches under leases.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.campaigns.claims import settle_sent
from otodoke.campaigns.conf import EngineConf, engine_conf
from otodoke.campaigns.dispatch import run_dispatch
from otodoke.campaigns.models import (
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
from otodoke.campaigns.planning import freeze_and_plan, limit_recipients
from otodoke.campaigns.quota import fetch_quota
from otodoke.campaigns.reconcile import reconcile_delivery
from otodoke.line.client import LineApiError, LineClient, with_backoff
from otodoke.workspaces.plans import estimate_cost, month_allowance

log = logging.getLogger(__name__)
TERMINAL = (
    DeliveryStatus.DONE,
    DeliveryStatus.PARTIAL,
    DeliveryStatus.FAILED,
    DeliveryStatus.CANCELLED,
)


def set_status(
    delivery: Delivery,
    new: DeliveryStatus,
    *,
    expected: tuple[DeliveryStatus, ...],
    reason: str = "",
    campaign_status: CampaignStatus | None = None,
) -> bool:
    """Move the delivery (and, for live sends, its campaign) on, only from `expected`."""
    now = timezone.now()
    changes: dict[str, object] = {"status": new, "reason": reason}
    if new in TERMINAL:
        changes["finished_at"] = now
    if new == DeliveryStatus.SENDING:
        changes["started_at"] = now
    with transaction.atomic():
        moved = Delivery.objects.filter(pk=delivery.pk, status__in=expected).update(**changes)
        if moved and campaign_status is not None and delivery.kind == DeliveryKind.LIVE:
            Campaign.objects.filter(pk=delivery.campaign_id).update(
                status=campaign_status, status_reason=reason
            )
    if moved:
        delivery.status = new
        delivery.reason = reason
    return bool(moved)


def _freeze(delivery: Delivery, conf: EngineConf) -> None:
    with transaction.atomic():
        if not set_status(
            delivery,
            DeliveryStatus.READY,
            expected=(DeliveryStatus.QUEUED,),
            campaign_status=CampaignStatus.SENDING,
        ):
            return
        freeze_and_plan(delivery, batch_size=conf.multicast_size, chunk_size=conf.plan_chunk)


def check_quota(delivery: Delivery) -> bool:
    """Ask LINE for this month's quota and usage, estimate the cost, and pause the send with the
    reason when it would exceed the quota (or the plan) unless someone confirmed it."""
    workspace = delivery.campaign.workspace
    # Messages are counted per recipient per request; broadcast counts every follower.
    messages = delivery.eligible - delivery.failed
    try:
        with LineClient.for_workspace(workspace) as client:
            # Transient failures (5xx, timeouts, rate limits) are retried with backoff.
            quota = with_backoff(lambda: fetch_quota(client))
    except LineApiError as exc:
        if exc.status in (401, 403):
            set_status(
                delivery,
                DeliveryStatus.FAILED,
                expected=(DeliveryStatus.READY,),
                reason=exc.describe(),
                campaign_status=CampaignStatus.FAILED,
            )
            return False
        raise
    cost = estimate_cost(workspace.plan, already_sent_this_month=quota.used, messages=messages)
    allowance = month_allowance(workspace.plan, used=quota.used, line_remaining=quota.remaining)
    cap = allowance.remaining
    over = cap is not None and messages > cap
    delivery.quota = {
        "limited": quota.limited,
        "limit": quota.limit,
        "used": quota.used,
        # What can still go out this month: the smaller of LINE's cap and the plan's.
        "remaining": cap,
        "line_remaining": quota.remaining,
        "limit_source": allowance.source,
        "messages": messages,
        "will_send": min(messages, cap) if cap is not None else messages,
        "unsent": max(messages - cap, 0) if cap is not None else 0,
        "extra_messages": cost.extra_messages,
        "extra_cost_yen": cost.extra_cost_yen,
        "allowed_by_plan": cost.allowed_by_plan,
        "exceeds_quota": over,
    }
    Delivery.objects.filter(pk=delivery.pk).update(quota=delivery.quota)
    if not over or delivery.kind != DeliveryKind.LIVE:
        return True
    if delivery.quota_confirmed_by_id is not None and cap:
        # Confirmed "send up to the limit": the rest is left out, recorded as such.
        limit_recipients(delivery, cap, batch_size=engine_conf().multicast_size)
        return True
    set_status(
        delivery,
        DeliveryStatus.PAUSED,
        expected=(DeliveryStatus.READY,),
        reason=over_limit_reason(delivery.quota),
        campaign_status=CampaignStatus.PAUSED,
    )
    return False


def over_limit_reason(quota: dict[str, object]) -> str:
    """One sentence: how many fit, what is left unsent and what resolves it."""
    figures = {
        "messages": quota.get("messages"),
        "remaining": quota.get("remaining"),
        "unsent": quota.get("unsent"),
    }
    if not quota.get("remaining"):
        if quota.get("limit_source") == "plan":
            return (
                _(
                    "The plan's free messages for this month are used up and it cannot send paid "
                    "ones, so none of the %(messages)s messages can go out now. Resume sending "
                    "after the count resets next month."
                )
                % figures
            )
        return (
            _(
                "LINE's message limit for this month is used up, so none of the %(messages)s "
                "messages can go out now. Resume sending after the count resets next month."
            )
            % figures
        )
    if quota.get("limit_source") == "plan":
        return (
            _(
                "Only %(remaining)s of these %(messages)s messages fit in the plan's free messages "
                "this month (it cannot send paid ones). Someone with the approve permission can "
                "send to %(remaining)s now and leave %(unsent)s unsent, or wait until next month."
            )
            % figures
        )
    return (
        _(
            "Only %(remaining)s of these %(messages)s messages fit in LINE's limit for this month. "
            "Someone with the approve permission can send to %(remaining)s now and leave "
            "%(unsent)s unsent, or wait until next month."
        )
        % figures
    )


def refresh_counts(delivery: Delivery) -> None:
    rows = (
        DeliveryRecipient.objects.filter(delivery=delivery)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {r["status"]: r["n"] for r in rows}
    excluded = counts.get(RecipientStatus.EXCLUDED, 0)
    Delivery.objects.filter(pk=delivery.pk).update(
        sent=counts.get(RecipientStatus.SENT, 0),
        failed=counts.get(RecipientStatus.FAILED, 0),
        unknown=counts.get(RecipientStatus.UNKNOWN, 0),
        blocked=counts.get(RecipientStatus.BLOCKED, 0),
        # Recipients re-checked when their batch was claimed may have been left out since.
        excluded=excluded,
        eligible=sum(counts.values()) - excluded,
    )


def _finish_if_done(delivery: Delivery) -> bool:
    if not Delivery.objects.filter(pk=delivery.pk, planned_at__isnull=False).exists():
        return False  # recipients still to be rendered and batched
    open_batches = Batch.objects.filter(
        delivery=delivery, status__in=[BatchStatus.PENDING, BatchStatus.IN_FLIGHT]
    )
    if open_batches.exists():
        return False
    settle_sent(delivery.pk)  # batches other workers sent and have not settled yet
    reconcile_delivery(delivery)  # friends who blocked before LINE took their batch
    refresh_counts(delivery)
    delivery.refresh_from_db(fields=["sent", "failed", "unknown", "blocked", "eligible"])
    status, campaign_status, reason = final_state(delivery)
    return set_status(
        delivery,
        status,
        expected=(DeliveryStatus.SENDING,),
        reason=reason,
        campaign_status=campaign_status,
    )


def final_state(delivery: Delivery) -> tuple[DeliveryStatus, CampaignStatus, str]:
    """What happened, from the recipients' outcomes: all delivered, some, or none."""
    if not delivery.failed and not delivery.unknown:
        return DeliveryStatus.DONE, CampaignStatus.SENT, ""
    first_error = (
        Batch.objects.filter(delivery=delivery, status=BatchStatus.FAILED)
        .exclude(last_error="")
        .order_by("number")
        .values_list("last_error", flat=True)
        .first()
    ) or (
        DeliveryRecipient.objects.filter(delivery=delivery, status=RecipientStatus.FAILED)
        .exclude(reason="")
        .values_list("reason", flat=True)
        .first()
    )
    figures = {
        "sent": delivery.sent,
        "failed": delivery.failed,
        "unknown": delivery.unknown,
        "eligible": delivery.eligible,
    }
    if delivery.sent == 0 and delivery.unknown == 0:
        reason = _("Nothing was delivered: all %(failed)s recipients failed.") % figures
        status, campaign_status = DeliveryStatus.FAILED, CampaignStatus.FAILED
    else:
        reason = (
            _(
                "%(sent)s of %(eligible)s recipients were sent the message; %(failed)s failed and "
                "%(unknown)s have no known outcome."
            )
            % figures
        )
        status, campaign_status = DeliveryStatus.PARTIAL, CampaignStatus.PARTIAL
    if first_error:
        reason += " " + _("LINE answered: %(error)s") % {"error": first_error[:500]}
    return status, campaign_status, reason


def _stop(delivery: Delivery, why: str) -> None:
    if why == "quota":
        set_status(
            delivery,
            DeliveryStatus.PAUSED,
            expected=(DeliveryStatus.SENDING,),
            reason=_("LINE says the monthly message limit is reached; the rest waits."),
            campaign_status=CampaignStatus.PAUSED,
        )
    elif why == "auth":
        last = (
            Batch.objects.filter(delivery=delivery, http_status__in=[401, 403])
            .values_list("last_error", flat=True)
            .first()
        )
        set_status(
            delivery,
            DeliveryStatus.FAILED,
            expected=(DeliveryStatus.SENDING,),
            reason=_("LINE refused the channel access token: %(error)s") % {"error": last or ""},
            campaign_status=CampaignStatus.FAILED,
        )


def enqueue_watchdog(delivery_id: int, conf: EngineConf) -> None:
    """A later run of the same task: it resumes the send if this worker dies (its leases will
    have expired) and does nothing if the delivery is finished by then."""
    from otodoke.campaigns.tasks import run_delivery as task

    run_after = timezone.now() + timedelta(seconds=conf.watchdog_seconds)
    task.using(run_after=run_after).enqueue(delivery_id)


def run_delivery(delivery_id: int, *, deadline_seconds: float | None = None) -> str:
    conf = engine_conf()
    delivery = Delivery.objects.select_related("campaign__workspace").get(pk=delivery_id)
    if delivery.status in TERMINAL or delivery.status == DeliveryStatus.PAUSED:
        return delivery.status
    if delivery.run_after and delivery.run_after > timezone.now():
        return "not yet"
    enqueue_watchdog(delivery_id, conf)
    if delivery.status == DeliveryStatus.QUEUED:
        _freeze(delivery, conf)
        delivery.refresh_from_db()
    if delivery.status == DeliveryStatus.READY:
        if not check_quota(delivery):
            return delivery.status
        set_status(
            delivery,
            DeliveryStatus.SENDING,
            expected=(DeliveryStatus.READY,),
            campaign_status=CampaignStatus.SENDING,
        )
        delivery.refresh_from_db()
    if delivery.status != DeliveryStatus.SENDING:
        return delivery.status
    deadline = time.monotonic() + deadline_seconds if deadline_seconds else None
    why = run_dispatch(delivery, conf, deadline=deadline)
    if why in ("quota", "auth"):
        _stop(delivery, why)
    elif why == "drained":
        _finish_if_done(delivery)
    delivery.refresh_from_db()
    return delivery.status
