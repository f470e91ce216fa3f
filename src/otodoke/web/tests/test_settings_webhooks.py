"""Settings → webhook events: failed and waiting events are listed with their error, members who
manage settings can retry one at once, and nobody else can."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import OperationalError
from django.test import Client
from django.utils import timezone

from otodoke.line import services
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.services import Outcome, Prefetched, process_event
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

PAGE = "/w/salon/settings/webhooks/"


def locked_database(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    raise OperationalError("database is locked")


@pytest.fixture
def failed_event(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> WebhookEvent:
    """A stored message event whose first processing attempt failed; the cause is gone after."""
    stored = WebhookEvent.objects.create(
        workspace=workspace,
        webhook_event_id="01FAILEDEVENT",
        event_type="message",
        raw={
            "type": "message",
            "timestamp": 1,
            "webhookEventId": "01FAILEDEVENT",
            "source": {"type": "user", "userId": "U" + "f" * 32},
            "message": {"type": "text", "id": "1", "text": "こんにちは"},
        },
        source_user_id="U" + "f" * 32,
        timestamp=timezone.now(),
    )
    with monkeypatch.context() as patched:
        patched.setitem(services.PROCESSORS, "message", locked_database)
        process_event(stored.pk)
    stored.refresh_from_db()
    assert stored.status == WebhookStatus.FAILED
    return stored


def test_page_lists_a_failed_event_with_its_error_and_next_attempt(
    failed_event: WebhookEvent, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.MANAGER).get(PAGE)

    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-event="{failed_event.pk}"' in page
    assert "<code>message</code>" in page
    assert "OperationalError: database is locked" in page
    assert failed_event.next_attempt_at is not None
    local = timezone.localtime(failed_event.next_attempt_at, failed_event.workspace.tzinfo)
    assert local.strftime("%Y-%m-%d %H:%M:%S") in page


def test_processed_events_are_not_listed(
    failed_event: WebhookEvent, client_as: Callable[[Role], Client]
) -> None:
    process_event(failed_event.pk)

    page = client_as(Role.OWNER).get(PAGE).content.decode()

    assert f'data-event="{failed_event.pk}"' not in page


def test_retry_now_processes_the_event_and_is_audited(
    failed_event: WebhookEvent, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.MANAGER).post(f"{PAGE}{failed_event.pk}/retry/")

    assert response.status_code == 302
    failed_event.refresh_from_db()
    assert failed_event.status == WebhookStatus.PROCESSED
    assert failed_event.payload["text"] == "こんにちは"
    entry = AuditLog.objects.get(action=AuditAction.WEBHOOKS_RETRIED)
    assert entry.actor_label == "manager"
    assert entry.details == {"event": failed_event.pk, "status": "processed"}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_members_who_do_not_manage_settings_cannot_retry(
    role: Role, failed_event: WebhookEvent, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(role)

    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}{failed_event.pk}/retry/").status_code == 403
    failed_event.refresh_from_db()
    assert failed_event.status == WebhookStatus.FAILED
    assert not AuditLog.objects.filter(action=AuditAction.WEBHOOKS_RETRIED).exists()
