"""The inbox pages with a real emulator behind them: an operator replies from the page, a
viewer reads with personal data masked and cannot reply, a friend's image is shown."""

from __future__ import annotations

import re

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from otodoke.chat.models import ChatMessage, Direction, SavedReply, SendMethod
from otodoke.chat.tests.conftest import FRIEND, conversation_of, friend_sends, received
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role

pytestmark = pytest.mark.django_db(transaction=True)


def client_for(workspace: Workspace, role: Role) -> Client:
    user = User.objects.create_user(role.value, f"{role.value}@example.jp", "pw")
    set_member_role(workspace, user, role, actor=None)
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(user)
    return client


def page_url(workspace: Workspace, contact: Contact) -> str:
    return f"/w/{workspace.slug}/chat/{conversation_of(contact).pk}/"


def test_an_operator_replies_from_the_page_and_the_friend_gets_it(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "カットの予約をしたいです"})
    operator = client_for(workspace, Role.OPERATOR)

    inbox = operator.get(f"/w/{workspace.slug}/chat/")
    assert inbox.status_code == 200
    assert "カットの予約をしたいです" in inbox.content.decode()
    page = operator.get(page_url(workspace, friend))
    assert page.status_code == 200
    assert "無料" in page.content.decode()  # the reply-token note: free, no quota
    assert conversation_of(friend).unread == 0  # opened by someone who can answer

    answer = operator.post(
        page_url(workspace, friend) + "reply/",
        {"text": "ありがとうございます。何日がご希望ですか？"},
    )

    assert answer.status_code == 302
    (record,) = received(control)
    assert record["endpoint"] == "reply"
    assert record["messages"][0]["text"] == "ありがとうございます。何日がご希望ですか？"
    out = ChatMessage.objects.get(direction=Direction.OUT)
    assert out.method == SendMethod.REPLY
    timeline = operator.get(page_url(workspace, friend) + "timeline/", HTTP_HX_REQUEST="true")
    assert "何日がご希望ですか" in timeline.content.decode()


def test_a_viewer_reads_with_pii_masked_and_cannot_reply(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    Contact.objects.filter(pk=friend.pk).update(phone="+819012345678", name="佐藤 さくら")
    friend_sends(control, {"type": "text", "text": "電話は09012345678です"})
    viewer = client_for(workspace, Role.VIEWER)

    page = viewer.get(page_url(workspace, friend)).content.decode()

    assert "佐藤 さくら" in page
    assert FRIEND not in page
    assert "+819012345678" not in page and "09012345678" not in page
    assert 'data-testid="reply-form"' not in page
    assert 'data-testid="read-only"' in page
    refused = viewer.post(page_url(workspace, friend) + "reply/", {"text": "こんにちは"})
    assert refused.status_code == 403
    assert received(control) == []
    assert conversation_of(friend).unread == 1  # a viewer reading does not clear it


def test_an_image_the_friend_sent_is_shown_in_the_timeline(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "image"})
    owner = client_for(workspace, Role.OWNER)

    page = owner.get(page_url(workspace, friend)).content.decode()

    match = re.search(r'<img class="chat-image" src="([^"]+)"', page)
    assert match is not None
    image = owner.get(match.group(1))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content).startswith(b"\x89PNG")  # type: ignore[attr-defined]
    other = Client()
    assert other.get(match.group(1)).status_code == 302  # to the login page, never public


def test_saved_replies_are_managed_in_the_ui_and_offered_in_the_reply_box(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "営業時間は？"})
    operator = client_for(workspace, Role.OPERATOR)

    created = operator.post(
        f"/w/{workspace.slug}/chat/saved-replies/",
        {"title": "営業時間", "text": "営業時間は10時〜19時です。"},
    )
    assert created.status_code == 302
    assert SavedReply.objects.get(workspace=workspace).title == "営業時間"
    too_long = operator.post(
        f"/w/{workspace.slug}/chat/saved-replies/", {"title": "長文", "text": "あ" * 5001}
    )
    assert too_long.status_code == 200 and "5000" in too_long.content.decode()
    page = operator.get(page_url(workspace, friend)).content.decode()
    assert 'data-fill-reply="営業時間は10時〜19時です。"' in page


def test_an_operator_sends_a_sticker_assigns_notes_and_closes(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "ありがとうございました"})
    operator = client_for(workspace, Role.OPERATOR)
    url = page_url(workspace, friend)
    me = User.objects.get(username="operator")

    operator.post(url + "reply/", {"sticker": "446/1988"})
    operator.post(url + "assign/", {"assignee": str(me.pk)})
    operator.post(url + "notes/", {"text": "次回はカラーの相談"})
    operator.post(url + "state/", {"state": "done"})

    assert received(control)[-1]["messages"] == [
        {"type": "sticker", "packageId": "446", "stickerId": "1988"}
    ]
    conversation = conversation_of(friend)
    assert conversation.assignee == me
    assert conversation.state == "done"
    assert conversation.notes.get().text == "次回はカラーの相談"
    mine = operator.get(f"/w/{workspace.slug}/chat/?show=done").content.decode()
    assert 'data-testid="conversation"' in mine
    friend_sends(control, {"type": "text", "text": "もう一つ質問です"})
    assert conversation_of(friend).state == "open"  # the friend writing again reopens it
