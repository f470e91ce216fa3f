"""Staff replies over real HTTP to the emulator: by reply token while it is valid (free), by
push once it has expired (counted against the month's quota), each delivered exactly once."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from otodoke.chat.models import ChatMessage, Direction, SendMethod, SendState
from otodoke.chat.sending import deliver, send_reply, sticker_message, text_message
from otodoke.chat.services import ChatError, conversation_for
from otodoke.chat.tests.conftest import FRIEND, conversation_of, friend_sends, received
from otodoke.contacts.models import Contact
from otodoke.line.client import LineClient
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def last_inbound(contact: Contact) -> ChatMessage:
    return ChatMessage.objects.filter(conversation__contact=contact, direction=Direction.IN).latest(
        "at"
    )


def test_a_reply_within_the_window_goes_by_reply_token_and_costs_no_quota(
    emulator: EmulatorServer, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "予約の確認をお願いします"})

    sent = send_reply(workspace, conversation_of(friend), [text_message("承知しました！")])

    assert sent.state == SendState.SENT, sent.error
    assert sent.method == SendMethod.REPLY
    assert received(control)[-1]["endpoint"] == "reply"
    assert received(control)[-1]["messages"] == [{"type": "text", "text": "承知しました！"}]
    assert emulator.emulator.quota_usage(emulator.channel) == 0
    assert last_inbound(friend).reply_token_used


def test_a_reply_after_the_token_expired_goes_by_push_and_counts(
    emulator: EmulatorServer, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "明日空いてますか？"})
    asked = last_inbound(friend)
    assert asked.reply_until is not None
    # Two minutes later, on both clocks: Otodoke's (injected) and LINE's.
    later = asked.reply_until + timedelta(minutes=2)
    emulator.emulator.advance_clock(180)

    sent = send_reply(
        workspace, conversation_of(friend), [sticker_message("446", "1988")], now=later
    )

    assert sent.state == SendState.SENT, sent.error
    assert sent.method == SendMethod.PUSH
    (record,) = received(control)
    assert record["endpoint"] == "push"
    assert record["messages"] == [{"type": "sticker", "packageId": "446", "stickerId": "1988"}]
    request = emulator.emulator.requests[sent.request_id]
    assert request.retry_key == str(sent.retry_key)
    assert emulator.emulator.quota_usage(emulator.channel) == 1


def test_a_push_whose_first_attempt_got_through_is_not_sent_twice(
    emulator: EmulatorServer, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    """A crash after LINE accepted the push but before it was recorded: delivering the
    stored row again reuses its retry key, LINE answers 409, the friend has one copy."""
    conversation = conversation_for(workspace, friend.pk)
    row = ChatMessage.objects.create(
        workspace=workspace,
        conversation=conversation,
        direction=Direction.OUT,
        kind="text",
        text="ご来店ありがとうございました",
        body={"messages": [text_message("ご来店ありがとうございました")], "reply_token": ""},
        at=conversation.created_at,
        method=SendMethod.PUSH,
        state=SendState.PENDING,
        retry_key="6f1f8f0e-6b9e-4c4f-9a55-3b1c7d9f0a11",
    )
    with LineClient.for_workspace(workspace) as client:  # the attempt that "crashed"
        client.push(FRIEND, row.body["messages"], retry_key=str(row.retry_key))

    again = deliver(row.pk)

    assert again.state == SendState.SENT
    assert len(received(control)) == 1
    assert deliver(row.pk).state == SendState.SENT  # a third call does nothing
    assert len(received(control)) == 1
    assert emulator.emulator.quota_usage(emulator.channel) == 1


def test_a_too_long_text_is_refused_with_lines_limit(friend: Contact) -> None:
    with pytest.raises(ChatError, match="5,000"):
        text_message("あ" * 5001)
    with pytest.raises(ChatError):
        sticker_message("1", "999999")


def test_a_push_over_the_months_quota_fails_with_a_clear_reason(
    emulator: EmulatorServer, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    limited = httpx.patch(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}",
        json={"quota_type": "limited", "quota_value": 0},
    )
    assert limited.status_code == 200, limited.text

    sent = send_reply(workspace, conversation_for(workspace, friend.pk), [text_message("hi")])

    assert sent.method == SendMethod.PUSH
    assert sent.state == SendState.FAILED
    assert "上限" in sent.error  # "the month's message quota is used up", in Japanese
    assert received(control) == []
