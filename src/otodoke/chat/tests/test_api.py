"""REST API parity: a booking system lists conversations, reads one and messages a customer
1:1 (over the emulator), with LINE's limits reported by field and PII masked without `pii`."""

from __future__ import annotations

import httpx
import pytest

from otodoke.api.services import create_token
from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.chat.models import SendMethod
from otodoke.chat.tests.conftest import conversation_of, friend_sends, received
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def token(workspace: Workspace, *scopes: str) -> ApiClient:
    return ApiClient(create_token(workspace, name="pos", scopes=scopes).plaintext)


def test_a_booking_system_messages_a_customer_by_contact_and_it_goes_by_push(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    pos = token(workspace, "read", "send")

    answer = pos.post(
        f"/api/v1/conversations/by-contact/{friend.pk}/reply",
        {"text": "ご予約を承りました。12月5日 15:00にお待ちしております。"},
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["state"] == "sent" and body["method"] == SendMethod.PUSH
    (record,) = received(control)
    assert record["endpoint"] == "push"
    timeline = pos.get(f"/api/v1/conversations/{body['conversation_id']}/messages").json()
    assert timeline[-1]["source"] == "staff"
    assert timeline[-1]["summary"].startswith("ご予約を承りました")


def test_list_read_and_reply_in_a_conversation_with_masked_pii(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "090-1234-5678に電話ください"})
    reader = token(workspace, "read")
    conversation = conversation_of(friend)

    listed = reader.get("/api/v1/conversations", {"unread": "true"}).json()
    assert [c["id"] for c in listed["items"]] == [conversation.pk]
    assert "090-1234-5678" not in listed["items"][0]["last_text"]
    timeline = reader.get(f"/api/v1/conversations/{conversation.pk}/messages").json()
    assert timeline[0]["direction"] == "in"
    assert "090-1234-5678" not in str(timeline[0])
    refused = reader.post(f"/api/v1/conversations/{conversation.pk}/reply", {"text": "はい"})
    assert refused.status_code == 403

    sender = token(workspace, "send")
    too_long = sender.post(f"/api/v1/conversations/{conversation.pk}/reply", {"text": "あ" * 5001})
    assert too_long.status_code == 422
    assert error_of(too_long)["details"][0]["path"] == "text"
    ok = sender.post(
        f"/api/v1/conversations/{conversation.pk}/reply",
        {"sticker": {"package_id": "446", "sticker_id": "1989"}},
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["method"] == SendMethod.REPLY  # the friend's token was still valid
    assert received(control)[-1]["messages"][0]["stickerId"] == "1989"


def test_the_cli_lists_shows_and_replies_with_json(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    import json
    from io import StringIO

    from django.core.management import call_command

    friend_sends(control, {"type": "location", "title": "渋谷店", "address": "渋谷区"})
    conversation = conversation_of(friend)

    out = StringIO()
    call_command("chat", "list", "--workspace", workspace.slug, "--json", stdout=out)
    assert json.loads(out.getvalue())["items"][0]["id"] == conversation.pk
    out = StringIO()
    call_command("chat", "show", str(conversation.pk), "--workspace", workspace.slug, stdout=out)
    assert "渋谷店" in out.getvalue()
    out = StringIO()
    call_command(
        "chat", "reply", str(conversation.pk), "--workspace", workspace.slug,
        "--text", "ご来店お待ちしております", "--json", stdout=out,
    )  # fmt: skip
    assert json.loads(out.getvalue())["state"] == "sent"
    assert received(control)[-1]["messages"][0]["text"] == "ご来店お待ちしております"
