"""A rule never answers twice to one event, and never by push: an expired token is recorded
and nothing is sent; a crash between the record and the reply loses that reply (the side to
fail on: LINE's reply endpoint has no retry key)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from django.db import transaction

from line_emulator.testing import EmulatorServer
from otodoke.autoreplies import replies
from otodoke.autoreplies.models import AutoReply, ReplyStatus
from otodoke.autoreplies.tests.conftest import (
    FRIEND,
    keyword_rule,
    requests_to,
    texts,
)
from otodoke.contacts.models import Contact
from otodoke.line.client import LineClient
from otodoke.line.models import WebhookEvent
from otodoke.line.tests.conftest import run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def asked(workspace: Workspace, wired: httpx.Client) -> httpx.Client:
    """A rule for 予約 and a friend who follows; the friend's 「予約」 is left to the test."""
    keyword_rule(workspace, "予約", ["予約"], "ご予約はこちら")
    wired.post(f"/friends/{FRIEND}/follow")
    run_tasks()
    return wired


def test_a_token_expired_by_our_clock_is_recorded_and_nothing_is_pushed(
    emulator: EmulatorServer, asked: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    monkeypatch.setattr(replies, "clock", lambda: later)
    run_tasks()
    reply = AutoReply.objects.get()
    assert reply.status == ReplyStatus.EXPIRED
    assert "プッシュでは送りません" in reply.reason  # not pushed, in the default language
    assert texts(asked) == []
    assert requests_to(emulator.url, "/v2/bot/message/reply") == 0
    assert requests_to(emulator.url, "/v2/bot/message/push") == 0


def test_a_token_line_refuses_as_expired_is_recorded_and_not_pushed(
    emulator: EmulatorServer, asked: httpx.Client
) -> None:
    asked.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    # LINE's clock moves on by two minutes: its token (valid one minute) is gone.
    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 120})
    run_tasks()
    reply = AutoReply.objects.get()
    assert reply.status == ReplyStatus.EXPIRED
    assert "Invalid reply token" in reply.reason
    assert texts(asked) == []
    assert requests_to(emulator.url, "/v2/bot/message/push") == 0


def test_recording_and_delivering_the_same_event_twice_answers_once(
    emulator: EmulatorServer, workspace: Workspace, asked: httpx.Client
) -> None:
    asked.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    run_tasks()
    event = WebhookEvent.objects.get(event_type="message")
    event.workspace = workspace
    contact = Contact.objects.get(line_user_id=FRIEND)
    # As if the event were processed again (another worker, a reprocessing tool).
    with transaction.atomic():
        assert replies.on_message(event, contact.pk, "予約") is None
    reply = AutoReply.objects.get()
    assert replies.deliver(reply.pk) == "already handled"
    assert texts(asked) == ["ご予約はこちら"]
    assert requests_to(emulator.url, "/v2/bot/message/reply") == 1


def test_a_crash_after_the_record_and_before_the_reply_loses_the_reply_and_never_doubles(
    emulator: EmulatorServer, asked: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def worker_dies(self: LineClient, *args: Any, **kwargs: Any) -> str:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(LineClient, "reply", worker_dies)
    asked.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    run_tasks()  # the reply task fails after claiming its record
    monkeypatch.undo()
    reply = AutoReply.objects.get()
    assert reply.status == ReplyStatus.SENDING

    from otodoke.autoreplies.tasks import send_auto_reply

    send_auto_reply.enqueue(reply.pk)  # a retry, by hand or by a restarted worker
    run_tasks()
    assert AutoReply.objects.get().status == ReplyStatus.SENDING
    assert texts(asked) == []
    assert requests_to(emulator.url, "/v2/bot/message/reply") == 0
