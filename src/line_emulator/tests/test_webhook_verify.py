"""`POST /v2/bot/channel/webhook/test`: the console's "Verify" as an API. A signed POST with no
events reaches the bot; the answer is 200 either way and says what happened."""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from line_emulator.testing import TEST_BOT_USER_ID, TEST_SECRET, EmulatorServer, serving

TEST_PATH = "/v2/bot/channel/webhook/test"


class Bot:
    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.status = 200

    async def handle(self, request: Request) -> Response:
        self.posts.append((dict(request.headers), await request.body()))
        return Response(status_code=self.status)


@pytest.fixture
def bot() -> Iterator[tuple[Bot, str]]:
    receiver = Bot()
    with serving(Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])) as url:
        yield receiver, f"{url}/hook"


def test_success_posts_a_signed_empty_event_list_to_the_given_endpoint(
    api: httpx.Client, bot: tuple[Bot, str]
) -> None:
    receiver, url = bot
    response = api.post(TEST_PATH, json={"endpoint": url})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert (body["statusCode"], body["reason"], body["detail"]) == (200, "OK", "200")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["timestamp"])

    [(headers, sent)] = receiver.posts
    assert json.loads(sent) == {"destination": TEST_BOT_USER_ID, "events": []}
    expected = base64.b64encode(hmac.new(TEST_SECRET.encode(), sent, hashlib.sha256).digest())
    assert hmac.compare_digest(headers["x-line-signature"].encode(), expected)


def test_without_endpoint_the_channels_webhook_url_is_checked(
    api: httpx.Client, emulator: EmulatorServer, bot: tuple[Bot, str]
) -> None:
    receiver, url = bot
    assert api.post(TEST_PATH).status_code == 400  # no URL anywhere
    emulator.channel.config.webhook_url = url
    receiver.status = 500
    body = api.post(TEST_PATH).json()
    assert body["success"] is False
    assert (body["statusCode"], body["reason"], body["detail"]) == (500, "ERROR_STATUS_CODE", "500")
    assert len(receiver.posts) == 1


def test_unreachable_endpoint_reports_could_not_connect_with_status_zero(
    api: httpx.Client, emulator: EmulatorServer
) -> None:
    body = api.post(TEST_PATH, json={"endpoint": "http://127.0.0.1:9/hook"}).json()
    assert body["success"] is False
    assert (body["statusCode"], body["reason"]) == (0, "COULD_NOT_CONNECT")
    # The check is not a webhook delivery: nothing is recorded for the channel.
    assert emulator.channel.webhook_deliveries == []


def test_bad_endpoint_and_missing_token_are_refused(emulator: EmulatorServer) -> None:
    with httpx.Client(base_url=emulator.url, timeout=10) as anonymous:
        assert anonymous.post(TEST_PATH, json={}).status_code == 401
    with httpx.Client(
        base_url=emulator.url,
        headers={"Authorization": f"Bearer {emulator.channel.config.access_token}"},
        timeout=10,
    ) as api:
        response = api.post(TEST_PATH, json={"endpoint": "ftp://example.com/hook"})
        assert response.status_code == 400
        assert response.json()["details"] == [
            {"message": "Invalid webhook endpoint URL", "property": "endpoint"}
        ]
        too_long = api.post(TEST_PATH, json={"endpoint": "https://e.jp/" + "a" * 500})
        assert too_long.status_code == 400
