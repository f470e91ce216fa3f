"""The demo's inbox: a few salon conversations with history, created once."""

from __future__ import annotations

import pytest

from otodoke.chat.models import ChatMessage, Conversation, SavedReply
from otodoke.contacts.demo import generate_demo_data
from otodoke.core.demo import ensure_chat
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace


@pytest.mark.django_db
def test_the_demo_has_conversations_with_history_once() -> None:
    workspace: Workspace = create_workspace(
        name="Demo", slug="demo", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9", actor_name="test",
    )  # fmt: skip
    generate_demo_data(workspace, contacts=60)

    assert ensure_chat(workspace) == 3
    assert ensure_chat(workspace) == 0

    conversations = Conversation.objects.filter(workspace=workspace)
    assert conversations.count() == 3
    assert ChatMessage.objects.filter(workspace=workspace).count() >= 9
    assert conversations.filter(unread__gt=0).count() == 2
    assert SavedReply.objects.filter(workspace=workspace).count() == 3
