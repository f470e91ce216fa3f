"""A friend's messages reach the inbox over real HTTP (emulator → webhook → task): every kind,
once each, with images downloaded from LINE's content endpoint and stored."""

from __future__ import annotations

import httpx
import pytest
from django.core.files.storage import default_storage

from otodoke.chat.models import ChatMessage, ContentState, Direction
from otodoke.chat.tests.conftest import conversation_of, friend_sends
from otodoke.contacts.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_friends_text_opens_a_conversation_with_one_unread(
    control: httpx.Client, friend: Contact
) -> None:
    friend_sends(control, {"type": "text", "text": "明日の予約、15時に変更できますか？"})

    conversation = conversation_of(friend)
    assert conversation.unread == 1
    assert conversation.last_preview == "明日の予約、15時に変更できますか？"
    (message,) = ChatMessage.objects.filter(conversation=conversation)
    assert message.direction == Direction.IN
    assert message.kind == "text"
    assert message.reply_token != "" and message.reply_until is not None


def test_a_redelivered_webhook_does_not_duplicate_the_message(
    control: httpx.Client, friend: Contact
) -> None:
    sent = friend_sends(control, {"type": "text", "text": "こんにちは"})

    delivery_id = sent["webhook"]["delivery_id"]
    response = control.post(f"/webhooks/{delivery_id}/redeliver")
    assert response.status_code == 200, response.text
    from otodoke.line.tests.conftest import run_tasks

    run_tasks()

    conversation = conversation_of(friend)
    assert ChatMessage.objects.filter(conversation=conversation).count() == 1
    assert conversation.unread == 1


def test_the_same_line_message_is_stored_once_even_in_another_event(friend: Contact) -> None:
    from django.utils import timezone

    from otodoke.chat.services import Inbound, record_inbound

    inbound = Inbound(
        message={"type": "text", "id": "100200300", "text": "hi"},
        message_id="100200300",
        kind="text",
        text="hi",
        at=timezone.now(),
        webhook_event_id="01EVENTA",
    )
    assert record_inbound(friend.workspace, friend.pk, inbound) is not None
    again = Inbound(**{**inbound.__dict__, "webhook_event_id": "01EVENTB"})
    assert record_inbound(friend.workspace, friend.pk, again) is None
    assert ChatMessage.objects.filter(line_message_id="100200300").count() == 1


def test_stickers_and_locations_are_stored_with_their_details(
    control: httpx.Client, friend: Contact
) -> None:
    friend_sends(control, {"type": "sticker", "packageId": "446", "stickerId": "1988"})
    friend_sends(control, {"type": "location", "title": "サロン花", "address": "渋谷区1-2-3"})

    kinds = {
        m.kind: m.body for m in ChatMessage.objects.filter(conversation=conversation_of(friend))
    }
    assert kinds["sticker"]["stickerId"] == "1988"
    assert kinds["location"]["title"] == "サロン花"
    assert conversation_of(friend).unread == 2


def test_an_image_a_friend_sent_is_downloaded_and_stored(
    control: httpx.Client, friend: Contact
) -> None:
    friend_sends(control, {"type": "image"})

    message = ChatMessage.objects.get(conversation=conversation_of(friend), kind="image")
    assert message.content_state == ContentState.STORED
    assert message.content_type == "image/png"
    with default_storage.open(message.content_file) as stored:
        assert stored.read().startswith(b"\x89PNG\r\n\x1a\n")
