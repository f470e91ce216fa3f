"""Linking merges a LINE-only friend into the customer: the conversation (messages, notes,
unread count) follows, whether or not the customer had one already."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from otodoke.chat.models import ChatMessage, Conversation, Note
from otodoke.chat.services import Inbound, add_note, conversation_for, record_inbound
from otodoke.contacts.merging import merge_contacts
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace


@pytest.fixture
def workspace(db: None) -> Workspace:
    return create_workspace(
        name="Salon", slug="salon", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9", actor_name="test",
    )  # fmt: skip


def say(workspace: Workspace, contact: Contact, message_id: str, minutes_ago: int) -> None:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    record_inbound(
        workspace,
        contact.pk,
        Inbound({"type": "text", "id": message_id, "text": message_id}, message_id, "text",
                message_id, at),
    )  # fmt: skip


def test_the_friends_conversation_moves_to_the_customer(workspace: Workspace) -> None:
    customer = Contact.objects.create(workspace=workspace, external_id="M-1", name="山田")
    friend = Contact.objects.create(workspace=workspace, line_user_id="U" + "b" * 32)
    say(workspace, friend, "m1", 5)
    add_note(workspace, conversation_for(workspace, friend.pk), "常連さん", actor=None)

    merge_contacts(customer, friend)

    conversation = Conversation.objects.get(workspace=workspace)
    assert conversation.contact_id == customer.pk
    assert conversation.unread == 1
    assert ChatMessage.objects.get().conversation_id == conversation.pk
    assert Note.objects.get().conversation_id == conversation.pk


def test_two_conversations_become_one_with_every_message(workspace: Workspace) -> None:
    customer = Contact.objects.create(workspace=workspace, line_user_id="U" + "c" * 32)
    friend = Contact.objects.create(workspace=workspace, external_id="M-2")
    say(workspace, customer, "old", 60)
    say(workspace, friend, "new", 1)

    merge_contacts(customer, friend)

    (conversation,) = Conversation.objects.filter(workspace=workspace)
    assert conversation.contact_id == customer.pk
    assert conversation.unread == 2
    assert conversation.last_preview == "new"
    assert ChatMessage.objects.filter(conversation=conversation).count() == 2
