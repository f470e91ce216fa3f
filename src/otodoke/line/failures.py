"""Webhook events that are owed processing (failed, or still waiting), for the settings page:
list them and retry one at once. Automatic retries (`tasks.retry_webhook_event`) carry on
regardless; this is for staff who fixed a cause and do not want to wait for the next attempt."""

from __future__ import annotations

from django.db.models import QuerySet

from otodoke.line.models import WebhookEvent
from otodoke.line.services import ProcessResult, process_event
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, record_audit, require


def unfinished_events(workspace: Workspace) -> QuerySet[WebhookEvent]:
    """Failed and still-pending events of the workspace, most recently received first."""
    return (
        WebhookEvent.objects.filter(workspace=workspace)
        .unfinished()
        .order_by("-received_at", "-pk")
        .only(
            "pk",
            "webhook_event_id",
            "event_type",
            "status",
            "received_at",
            "attempts",
            "last_error",
            "next_attempt_at",
        )
    )


def retry_event_now(workspace: Workspace, event_pk: int, *, actor: AnyUser) -> ProcessResult:
    """Process one unfinished event of `workspace` now, audited. Another failure is recorded
    like any attempt and keeps the automatic retries going while attempts remain.

    Raises WebhookEvent.DoesNotExist for an event of another workspace or a finished one."""
    from otodoke.line.tasks import retry_webhook_event

    require(actor, workspace, Permission.MANAGE_SETTINGS)
    event = WebhookEvent.objects.filter(workspace=workspace).unfinished().get(pk=event_pk)
    result = process_event(event.pk)
    if result.retry_at is not None:
        retry_webhook_event.using(run_after=result.retry_at).enqueue(event.pk)
    record_audit(
        workspace,
        AuditAction.WEBHOOKS_RETRIED,
        actor=actor,
        target=f"{event.event_type} {event.webhook_event_id}",
        details={"event": event.pk, "status": result.status},
    )
    return result
