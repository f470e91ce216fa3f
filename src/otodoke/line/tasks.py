"""Background work for LINE: webhook processing and friends sync. Every task is safe to run
twice; they take IDs, never objects."""

from __future__ import annotations

from typing import Any

from django.tasks import task

from otodoke.core import lanes
from otodoke.line.models import WebhookEvent


@task(queue_name=lanes.WEBHOOKS)
def process_webhook_events(workspace_id: int, webhook_event_ids: list[str]) -> dict[str, int]:
    """Process the stored events of one webhook delivery, oldest first.

    A failing event does not stop the others; it gets its own delayed retry task.
    """
    from otodoke.line.services import process_event

    pks = list(
        WebhookEvent.objects.filter(
            workspace_id=workspace_id, webhook_event_id__in=webhook_event_ids
        )
        .unfinished()
        .order_by("timestamp", "pk")
        .values_list("pk", flat=True)
    )
    counts: dict[str, int] = {}
    for pk in pks:
        result = process_event(pk)
        counts[result.status] = counts.get(result.status, 0) + 1
        if result.retry_at is not None:
            retry_webhook_event.using(run_after=result.retry_at).enqueue(pk)
    return counts


@task(queue_name=lanes.WEBHOOKS)
def process_pending_webhooks(workspace_id: int) -> dict[str, int]:
    """Drain every pending event of a workspace (enqueued, coalesced, after webhook commits).

    When another drainer still holds a claim, a run is queued for when its lease ends: if that
    drainer died, its events are taken then instead of waiting for the next webhook."""
    from django.utils import timezone

    from otodoke.line.drain import drain_pending, lease_ends

    counts = drain_pending(workspace_id)
    if counts.pop("more", 0):
        process_pending_webhooks.enqueue(workspace_id)
    elif (ends := lease_ends(workspace_id, now=timezone.now())) is not None:
        process_pending_webhooks.using(run_after=ends).enqueue(workspace_id)
    return counts


@task(queue_name=lanes.WEBHOOKS)
def retry_webhook_event(pk: int) -> str:
    from otodoke.line.services import process_event

    result = process_event(pk)
    if result.retry_at is not None:
        retry_webhook_event.using(run_after=result.retry_at).enqueue(pk)
    return result.status


@task(queue_name=lanes.DEFAULT)
def sync_friends(workspace_id: int) -> dict[str, Any]:
    from otodoke.line.sync import sync_friends as run_sync
    from otodoke.workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    return run_sync(workspace).as_dict()


@task(queue_name=lanes.WEBHOOKS)
def invite_to_link(
    workspace_id: int, line_user_id: str, reply_token: str = "", reply_until: float = 0.0
) -> str:
    """A friend sent the account-link keyword: send them the invitation (enqueued once, after
    the message event's processing commits; LINE calls never run inside that transaction).

    With the event's reply token, still valid until `reply_until` (epoch seconds), it is a
    free reply; otherwise a push, which counts against the monthly quota."""
    from otodoke.line.invites import invite_on_request
    from otodoke.workspaces.models import Workspace

    return invite_on_request(
        Workspace.objects.get(pk=workspace_id),
        line_user_id,
        reply_token=reply_token,
        reply_until=reply_until,
    )


@task(queue_name=lanes.WEBHOOKS)
def offer_unlink_page(
    workspace_id: int, line_user_id: str, reply_token: str = "", reply_until: float = 0.0
) -> str:
    """A linked friend asked to unlink (「連携解除」): send them the button to the unlink page,
    as a reply while the event's token is valid, else a push."""
    from otodoke.line.unlinking import unlink_on_request
    from otodoke.workspaces.models import Workspace

    return unlink_on_request(
        Workspace.objects.get(pk=workspace_id),
        line_user_id,
        reply_token=reply_token,
        reply_until=reply_until,
    )


# Not on the webhooks lane: when LINE is slow these calls wait, and webhook events must not.
@task(queue_name=lanes.DEFAULT)
def retry_missing_profiles(workspace_id: int) -> dict[str, int]:
    """Fetch again the profiles a follow could not get (timeouts, 5xx, 429), with backoff and
    within LINE's profile rate limit; queues its own next run while some are left."""
    from otodoke.line.profiles import retry_due

    return retry_due(workspace_id).as_dict()


@task(queue_name=lanes.DEFAULT)
def verify_links(check_id: int) -> dict[str, Any]:
    """Ask LINE whether linked IDs of unknown friend status are friends (a LinkCheck)."""
    from otodoke.line.verify import run_check

    check = run_check(check_id)
    return {"status": check.status, "following": check.following, "checked": check.checked}
