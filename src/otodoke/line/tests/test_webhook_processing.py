"""Processing stored events: friend status and timestamps, order, failures and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.core.management import call_command

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line import services
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.tests.conftest import event, post_signed, run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

USER = "U" + "b" * 32


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_follow_creates_a_line_only_contact_with_profile(wired: httpx.Client) -> None:
    wired.post(f"/friends/{USER}/follow", json={"display_name": "田中 太郎"})
    run_tasks()

    contact = Contact.objects.get(line_user_id=USER)
    assert contact.is_line_only
    assert contact.line_status == LineStatus.FOLLOWING
    assert contact.line_display_name == "田中 太郎"
    assert contact.line_picture_url.endswith(USER)
    assert contact.line_followed_at == contact.line_first_followed_at
    assert WebhookEvent.objects.get().status == WebhookStatus.PROCESSED


def test_block_then_unblock_change_status_and_timestamps(wired: httpx.Client) -> None:
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    first = Contact.objects.get(line_user_id=USER)

    wired.post(f"/friends/{USER}/block")
    run_tasks()
    blocked = Contact.objects.get(line_user_id=USER)
    assert blocked.line_status == LineStatus.BLOCKED
    assert blocked.line_unfollowed_at is not None
    assert first.line_followed_at is not None
    assert blocked.line_unfollowed_at >= first.line_followed_at

    unblock = wired.post(f"/friends/{USER}/unblock")
    run_tasks()
    back = Contact.objects.get(line_user_id=USER)
    assert back.line_status == LineStatus.FOLLOWING
    assert back.line_followed_at is not None
    assert back.line_followed_at > first.line_followed_at
    assert back.line_first_followed_at == first.line_first_followed_at
    assert back.line_unfollowed_at == blocked.line_unfollowed_at
    assert unblock.json()["webhook"]["events"][0]["follow"]["isUnblocked"] is True
    unblock_event = WebhookEvent.objects.get(
        webhook_event_id=unblock.json()["webhook"]["events"][0]["webhookEventId"]
    )
    assert unblock_event.payload == {"is_unblocked": True}
    assert Contact.objects.count() == 1


def test_an_older_follow_arriving_late_does_not_undo_a_newer_block(webhook_url: str) -> None:
    followed = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    blocked = followed + timedelta(hours=2)

    post_signed(webhook_url, [event("unfollow", USER, event_id="01B", timestamp_ms=ms(blocked))])
    run_tasks()
    post_signed(
        webhook_url,
        [event("follow", USER, event_id="01A", timestamp_ms=ms(followed), follow={})],
    )
    run_tasks()

    contact = Contact.objects.get(line_user_id=USER)
    assert contact.line_status == LineStatus.BLOCKED
    assert contact.line_unfollowed_at == blocked
    assert contact.line_followed_at == followed


def test_events_in_one_delivery_apply_in_timestamp_order(webhook_url: str) -> None:
    base = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    events = [
        event("follow", USER, event_id="01C", timestamp_ms=ms(base + timedelta(minutes=2))),
        event("unfollow", USER, event_id="01D", timestamp_ms=ms(base + timedelta(minutes=1))),
        event("follow", USER, event_id="01E", timestamp_ms=ms(base)),
    ]

    post_signed(webhook_url, events)
    run_tasks()

    contact = Contact.objects.get(line_user_id=USER)
    assert contact.line_status == LineStatus.FOLLOWING
    assert contact.line_first_followed_at == base
    assert contact.line_followed_at == base + timedelta(minutes=2)


def test_a_failed_profile_fetch_does_not_lose_the_follow(
    emulator: EmulatorServer, wired: httpx.Client
) -> None:
    script = httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": ["500"]})
    assert script.status_code == 200

    wired.post(f"/friends/{USER}/follow")
    run_tasks()

    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookStatus.PROCESSED
    assert "profile not fetched" in stored.outcome
    contact = Contact.objects.get(line_user_id=USER)
    assert contact.line_status == LineStatus.FOLLOWING
    assert contact.line_display_name == ""


def test_postback_data_and_messages_are_kept_for_later(wired: httpx.Client) -> None:
    wired.post(f"/friends/{USER}/follow")
    wired.post(f"/friends/{USER}/postback", json={"data": "action=reserve&menu=cut&menu=color"})
    wired.post(f"/friends/{USER}/message", json={"text": "予約したいです"})
    run_tasks()

    postback = WebhookEvent.objects.get(event_type="postback")
    assert postback.status == WebhookStatus.PROCESSED
    assert postback.payload["params"] == {"action": "reserve", "menu": ["cut", "color"]}
    message = WebhookEvent.objects.get(event_type="message")
    assert message.payload["text"] == "予約したいです"
    assert message.payload["message_type"] == "text"


def test_a_failing_processor_leaves_the_event_failed_and_a_retry_processes_it(
    wired: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(event: WebhookEvent, prefetched: services.Prefetched) -> services.Outcome:
        raise RuntimeError("database hiccup")

    wired.post(f"/friends/{USER}/follow")
    monkeypatch.setitem(services.PROCESSORS, "message", broken)
    wired.post(f"/friends/{USER}/message", json={"text": "hello"})
    run_tasks()

    failed = WebhookEvent.objects.get(event_type="message")
    assert failed.status == WebhookStatus.FAILED
    assert failed.attempts == 1
    assert "database hiccup" in failed.last_error
    assert failed.next_attempt_at is not None  # an automatic retry is scheduled
    assert WebhookEvent.objects.get(event_type="follow").status == WebhookStatus.PROCESSED

    monkeypatch.undo()
    call_command("webhooks", "retry")
    run_tasks()

    retried = WebhookEvent.objects.get(event_type="message")
    assert retried.status == WebhookStatus.PROCESSED
    assert retried.attempts == 2
    assert retried.last_error == ""


def test_processing_the_same_event_twice_changes_nothing_the_second_time(
    wired: httpx.Client,
) -> None:
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    stored = WebhookEvent.objects.get()
    before = Contact.objects.get(line_user_id=USER)

    result = services.process_event(stored.pk)

    assert result.status == WebhookStatus.PROCESSED
    assert WebhookEvent.objects.get().attempts == 1
    assert Contact.objects.get(line_user_id=USER).updated_at == before.updated_at


def test_an_event_whose_enqueue_was_lost_is_processed_by_the_next_drain(
    webhook_url: str, workspace: Workspace
) -> None:
    # As if the process died between the commit and the enqueue: a stored, pending event.
    orphan = event("follow", USER, event_id="01ORPHAN", timestamp_ms=1_700_000_000_000)
    WebhookEvent.objects.create(
        workspace=workspace,
        webhook_event_id="01ORPHAN",
        event_type="follow",
        raw=orphan,
        source_user_id=USER,
        timestamp=datetime.fromtimestamp(1_700_000_000, tz=UTC),
    )

    post_signed(
        webhook_url,
        [
            event(
                "message",
                USER,
                event_id="01NEXT",
                timestamp_ms=1,
                message={"type": "sticker", "id": "1"},
            )
        ],
    )
    run_tasks()

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {WebhookStatus.PROCESSED}
    assert Contact.objects.get(line_user_id=USER).line_status == LineStatus.FOLLOWING
