import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from line_emulator.testing import TEST_BOT_USER_ID, TEST_SECRET, EmulatorServer, serving


class Receiver:
    """A tiny bot: records every webhook POST and answers with a settable status."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

    async def handle(self, request: Request) -> Response:
        self.posts.append((dict(request.headers), await request.body()))
        return Response(status_code=self.status)

    def events(self, index: int) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.posts[index][1])["events"]
        return events


@pytest.fixture
def receiver(emulator: EmulatorServer) -> Iterator[Receiver]:
    bot = Receiver()
    with serving(Starlette(routes=[Route("/hook", bot.handle, methods=["POST"])])) as url:
        emulator.channel.config.webhook_url = f"{url}/hook"
        yield bot


def test_follow_arrives_signed_with_the_line_envelope(
    control: httpx.Client, receiver: Receiver
) -> None:
    user = "U" + "a" * 32
    result = control.post(f"/friends/{user}/follow", json={"display_name": "佐藤 花子"}).json()

    [(headers, body)] = receiver.posts
    expected = base64.b64encode(hmac.new(TEST_SECRET.encode(), body, hashlib.sha256).digest())
    assert hmac.compare_digest(headers["x-line-signature"].encode(), expected)
    assert headers["content-type"].startswith("application/json")
    payload = json.loads(body)
    assert payload["destination"] == TEST_BOT_USER_ID
    [event] = payload["events"]
    assert event["type"] == "follow"
    assert event["mode"] == "active"
    assert event["source"] == {"type": "user", "userId": user}
    assert event["follow"] == {"isUnblocked": False}
    assert len(event["webhookEventId"]) == 26
    assert event["deliveryContext"] == {"isRedelivery": False}
    assert isinstance(event["timestamp"], int) and event["replyToken"]
    assert result["webhook"]["attempts"][0]["status_code"] == 200
    assert control.get(f"/friends/{user}").json()["status"] == "following"


def test_redelivery_repeats_the_event_id_and_reply_token(
    control: httpx.Client, receiver: Receiver
) -> None:
    user = "U" + "b" * 32
    receiver.status = 500
    first = control.post(f"/friends/{user}/follow").json()["webhook"]
    assert first["attempts"][0]["error"] == "error_status_code"

    receiver.status = 200
    again = control.post(f"/webhooks/{first['delivery_id']}/redeliver").json()

    original, redelivered = receiver.events(0)[0], receiver.events(1)[0]
    assert redelivered["webhookEventId"] == original["webhookEventId"]
    assert redelivered["replyToken"] == original["replyToken"]
    assert redelivered["deliveryContext"] == {"isRedelivery": True}
    assert again["succeeded"] is True


def test_block_unblock_message_and_postback_events(
    control: httpx.Client, receiver: Receiver
) -> None:
    user = "U" + "c" * 32
    control.post(f"/friends/{user}/follow")
    control.post(f"/friends/{user}/block")
    control.post(f"/friends/{user}/unblock")
    control.post(f"/friends/{user}/message", json={"text": "こんにちは"})
    control.post(f"/friends/{user}/postback", json={"data": "action=buy&id=1"})

    events = [receiver.events(i)[0] for i in range(5)]
    assert [e["type"] for e in events] == ["follow", "unfollow", "follow", "message", "postback"]
    assert "replyToken" not in events[1]
    assert events[2]["follow"] == {"isUnblocked": True}
    assert events[3]["message"]["text"] == "こんにちは"
    assert events[4]["postback"] == {"data": "action=buy&id=1"}


def test_unreachable_webhook_is_recorded(control: httpx.Client, emulator: EmulatorServer) -> None:
    emulator.channel.config.webhook_url = "http://127.0.0.1:9/hook"
    control.post(f"/friends/{'U' + 'd' * 32}/follow")
    [delivery] = control.get("/webhooks").json()["deliveries"]
    assert delivery["attempts"][0]["error"] == "could_not_connect"
