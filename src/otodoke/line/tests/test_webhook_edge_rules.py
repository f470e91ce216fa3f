"""LINE's meaning of an event decides what Otodoke does with it: IDs checked at the edge,
standby and group chats never answered, rich-menu switch results kept apart from dates, and
answers sent as free replies while the event's reply token is good."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from otodoke.contacts.models import Contact
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.tests.conftest import LINKING_USER, event, post_signed, run_tasks
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace

pytestmark = pytest.mark.django_db(transaction=True)

USER = LINKING_USER


def received(control: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    response = control.get(f"/friends/{user_id}/messages")
    assert response.status_code == 200, response.text
    return list(response.json()["received"])


@pytest.mark.parametrize(
    "bad_id", ["<script>alert(1)</script>", "U" + "A" * 32, "U" + "a" * 69, "", "../../info"]
)
def test_a_signed_event_with_a_bad_user_id_is_stored_rejected_and_creates_no_contact(
    webhook_url: str, bad_id: str
) -> None:
    response = post_signed(
        webhook_url, [event("follow", bad_id, event_id="01BADID", timestamp_ms=1_700_000_000_000)]
    )
    run_tasks()

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookStatus.REJECTED
    assert "not a LINE user ID" in stored.outcome
    assert stored.raw["source"]["userId"] == bad_id
    assert stored.source_user_id == ""
    assert not Contact.objects.exists()


def _keyword_event(event_id: str, **overrides: Any) -> dict[str, Any]:
    body = event(
        "message",
        USER,
        event_id=event_id,
        timestamp_ms=1_700_000_000_000,
        message={"type": "text", "id": "1", "text": "会員連携"},
    )
    body.update(overrides)
    return body


def test_a_keyword_in_standby_mode_is_stored_but_not_answered(
    webhook_url: str, control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")

    post_signed(webhook_url, [_keyword_event("01STANDBY", mode="standby")])
    run_tasks()
    run_tasks()

    stored = WebhookEvent.objects.get(webhook_event_id="01STANDBY")
    assert stored.status == WebhookStatus.PROCESSED
    assert stored.payload["text"] == "会員連携"
    assert "standby" in stored.outcome
    assert received(control, USER) == []
    assert not AuditLog.objects.filter(action=AuditAction.LINK_INVITED).exists()


@pytest.mark.parametrize(
    "source",
    [
        {"type": "group", "groupId": "C" + "1" * 32, "userId": USER},
        {"type": "room", "roomId": "R" + "1" * 32, "userId": USER},
    ],
)
def test_a_keyword_in_a_group_or_room_does_not_invite_the_sender(
    webhook_url: str,
    control: httpx.Client,
    follower: Contact,
    workspace: Workspace,
    source: dict[str, str],
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")

    post_signed(webhook_url, [_keyword_event("01GROUP", source=source)])
    run_tasks()
    run_tasks()

    stored = WebhookEvent.objects.get(webhook_event_id="01GROUP")
    assert "group or room" in stored.outcome
    assert received(control, USER) == []


def test_rich_menu_switch_params_are_not_stored_as_datetime_params(webhook_url: str) -> None:
    switch = event(
        "postback",
        USER,
        event_id="01SWITCH",
        timestamp_ms=1_700_000_000_000,
        postback={
            "data": "menu=b",
            "params": {"newRichMenuAliasId": "richmenu-b", "status": "SUCCESS"},
        },
    )
    picked = event(
        "postback",
        USER,
        event_id="01PICKED",
        timestamp_ms=1_700_000_000_001,
        postback={"data": "action=reserve", "params": {"datetime": "2026-05-01T10:00"}},
    )
    post_signed(webhook_url, [switch, picked])
    run_tasks()

    stored_switch = WebhookEvent.objects.get(webhook_event_id="01SWITCH").payload
    assert "datetime_params" not in stored_switch
    assert stored_switch["richmenu_switch"] == {
        "newRichMenuAliasId": "richmenu-b",
        "status": "SUCCESS",
    }
    stored_pick = WebhookEvent.objects.get(webhook_event_id="01PICKED").payload
    assert stored_pick["datetime_params"] == {"datetime": "2026-05-01T10:00"}
    assert "richmenu_switch" not in stored_pick


def test_the_link_keyword_is_answered_with_a_free_reply_not_a_push(
    public_url: str, control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")

    control.post(f"/friends/{USER}/message", json={"text": "会員連携"})
    run_tasks()
    run_tasks()

    (record,) = received(control, USER)
    assert record["endpoint"] == "reply"
    assert record["messages"][0]["type"] == "template"
    assert AuditLog.objects.get(action=AuditAction.LINK_INVITED).details["method"] == "reply"


def test_an_expired_reply_token_falls_back_to_a_push(
    public_url: str,
    webhook_url: str,
    control: httpx.Client,
    follower: Contact,
    workspace: Workspace,
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")

    # A fresh event whose token LINE no longer takes (the emulator never issued it, so it
    # answers 400 Invalid reply token, as for a used one): the reply fails, the push goes.
    fresh = _keyword_event("01OLDTOKEN", replyToken="f" * 32, timestamp=int(time.time() * 1000))
    post_signed(webhook_url, [fresh])
    run_tasks()
    run_tasks()

    (record,) = received(control, USER)
    assert record["endpoint"] == "push"
    stored = WebhookEvent.objects.get(webhook_event_id="01OLDTOKEN")
    assert stored.status == WebhookStatus.PROCESSED
    assert AuditLog.objects.get(action=AuditAction.LINK_INVITED).details["method"] == "push"
