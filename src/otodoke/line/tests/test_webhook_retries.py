"""Processing failures are retried and visible, never lost: the automatic retry task really
runs and processes the event once the cause is gone, and `otodoke webhooks status|retry` show
and re-enqueue what is owed."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from otodoke.line import services
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.services import Outcome, Prefetched
from otodoke.line.tests.conftest import event, post_signed, run_tasks
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

pytestmark = pytest.mark.django_db(transaction=True)

USER = "U" + "e" * 32
RETRY_TASK = "otodoke.line.tasks.retry_webhook_event"


def locked_database(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    raise OperationalError("database is locked")


def message(event_id: str) -> dict[str, object]:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    return event(
        "message",
        USER,
        event_id=event_id,
        timestamp_ms=now_ms,
        message={"type": "text", "id": "m1", "text": "予約したいです"},
    )


def receive_and_fail(webhook_url: str, monkeypatch: pytest.MonkeyPatch, event_id: str) -> None:
    """A real webhook delivery whose processing fails (the database was locked)."""
    assert post_signed(webhook_url, [message(event_id)]).status_code == 200
    with monkeypatch.context() as patched:
        patched.setitem(services.PROCESSORS, "message", locked_database)
        run_tasks()


def test_automatic_retry_task_processes_the_event_once_the_cause_is_gone(
    webhook_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receive_and_fail(webhook_url, monkeypatch, "01RETRYME")

    failed = WebhookEvent.objects.get(webhook_event_id="01RETRYME")
    assert failed.status == WebhookStatus.FAILED
    assert failed.attempts == 1
    assert "database is locked" in failed.last_error
    assert failed.next_attempt_at is not None
    retry = DBTaskResult.objects.get(task_path=RETRY_TASK)
    assert retry.args_kwargs["args"] == [failed.pk]
    assert retry.run_after == failed.next_attempt_at  # waits for its backoff, then runs

    # The cause is gone (the monkeypatch was undone); time passes until the retry is due.
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())
    run_tasks()

    processed = WebhookEvent.objects.get(pk=failed.pk)
    assert processed.status == WebhookStatus.PROCESSED
    assert processed.attempts == 2
    assert processed.last_error == ""
    assert processed.next_attempt_at is None
    assert processed.payload["text"] == "予約したいです"
    retry.refresh_from_db()
    assert retry.return_value == WebhookStatus.PROCESSED
    assert not DBTaskResult.objects.filter(task_path=RETRY_TASK).ready().exists()


def status_counts(*args: str) -> dict[str, int]:
    out = StringIO()
    call_command("webhooks", "status", *args, stdout=out)
    counts = {}
    for line in out.getvalue().splitlines():
        status, count, *_label = line.split()
        counts[status] = int(count)
    return counts


def test_webhooks_status_counts_the_workspace_events_by_status(
    webhook_url: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    receive_and_fail(webhook_url, monkeypatch, "01FAILS")
    assert post_signed(webhook_url, [message("01WORKS")]).status_code == 200
    run_tasks()
    other = create_workspace(
        name="Other",
        slug="other",
        channel_id="2",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )
    WebhookEvent.objects.create(
        workspace=other,
        webhook_event_id="01ELSEWHERE",
        event_type="message",
        raw={},
        timestamp=timezone.now(),
    )

    assert status_counts("--workspace", workspace.slug) == {
        "pending": 0,
        "processed": 1,
        "failed": 1,
        "ignored": 0,
        "rejected": 0,
    }
    assert status_counts()["pending"] == 1  # every workspace


def test_webhooks_status_refuses_an_unknown_workspace(workspace: Workspace) -> None:
    with pytest.raises(CommandError, match="nope"):
        call_command("webhooks", "status", "--workspace", "nope")


def test_webhooks_retry_reenqueues_failed_events_and_they_get_processed(
    webhook_url: str, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    receive_and_fail(webhook_url, monkeypatch, "01MANUAL")
    out = StringIO()

    with translation.override("en"):
        call_command(
            "webhooks", "retry", "--workspace", workspace.slug, "--failed-only", stdout=out
        )
    run_tasks()

    assert "Re-enqueued 1 webhook event(s)" in out.getvalue()
    assert WebhookEvent.objects.get().status == WebhookStatus.PROCESSED
