"""Profiles, follower IDs and the account-link flow over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from line_emulator.tests.live import SECRET, Line, Receiver, line_on, webhook_receiver

NONCE = "bm9uY2Utb2YtMTI4LWJpdHM="


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def line(emulator: EmulatorServer, receiver: Receiver) -> Iterator[Line]:
    emulator.channel.config.webhook_url = receiver.url
    with line_on(emulator) as running:
        yield running


def test_profile_of_a_friend_and_404_once_blocked(line: Line) -> None:
    user_id = line.friends(1)[0]
    profile = line.client.get(f"/v2/bot/profile/{user_id}")
    assert profile.status_code == 200
    assert profile.json()["userId"] == user_id
    assert profile.json()["displayName"] == line.channel.friends[user_id].display_name

    line.channel.friends[user_id].status = "blocked"
    blocked = line.client.get(f"/v2/bot/profile/{user_id}")
    assert (blocked.status_code, blocked.json()) == (404, {"message": "Not found"})
    assert line.client.get("/v2/bot/profile/U123").status_code == 400


def test_follower_ids_page_with_next_and_skip_blocked(line: Line) -> None:
    friends = line.friends(5)
    line.channel.friends[friends[2]].status = "blocked"
    first = line.client.get("/v2/bot/followers/ids", params={"limit": 3}).json()
    assert first["userIds"] == [friends[0], friends[1], friends[3]]
    second = line.client.get(
        "/v2/bot/followers/ids", params={"limit": 3, "start": first["next"]}
    ).json()
    assert second == {"userIds": [friends[4]]}
    assert line.client.get("/v2/bot/followers/ids", params={"limit": 1001}).status_code == 400


def test_follower_next_token_expires_after_24_hours(line: Line) -> None:
    line.friends(4)
    token = line.client.get("/v2/bot/followers/ids", params={"limit": 2}).json()["next"]
    line.advance(24 * 3600)
    expired = line.client.get("/v2/bot/followers/ids", params={"start": token})
    assert expired.status_code == 400


def test_follower_ids_are_403_for_an_unverified_account(line: Line) -> None:
    line.channel.config.verified = False
    response = line.client.get("/v2/bot/followers/ids")
    assert response.status_code == 403


def issue(line: Line, user_id: str) -> str:
    response = line.client.post(f"/v2/bot/user/{user_id}/linkToken")
    assert response.status_code == 200
    token: str = response.json()["linkToken"]
    return token


def open_link_page(line: Line, token: str) -> httpx.Response:
    # What the friend's LINE app opens: no channel access token involved.
    return httpx.get(
        f"{line.url}/dialog/bot/accountLink", params={"linkToken": token, "nonce": NONCE}
    )


def test_link_token_page_posts_a_signed_account_link_event(line: Line, receiver: Receiver) -> None:
    user_id = line.friends(1)[0]
    page = open_link_page(line, issue(line, user_id))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]

    receiver.wait_for(1)
    headers, body = receiver.received[0]
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    assert headers["x-line-signature"] == expected.decode()
    event = json.loads(body)["events"][0]
    assert event["type"] == "accountLink"
    assert event["link"] == {"result": "ok", "nonce": NONCE}
    assert event["source"] == {"type": "user", "userId": user_id}
    assert event["replyToken"]


def test_link_token_is_single_use(line: Line, receiver: Receiver) -> None:
    token = issue(line, line.friends(1)[0])
    assert open_link_page(line, token).status_code == 200
    again = open_link_page(line, token)
    assert again.status_code == 400
    time.sleep(0.2)
    assert len(receiver.received) == 1


def test_expired_link_token_sends_no_webhook(line: Line, receiver: Receiver) -> None:
    token = issue(line, line.friends(1)[0])
    line.advance(10 * 60)
    assert open_link_page(line, token).status_code == 400
    time.sleep(0.2)
    assert receiver.received == []


def test_someone_else_opening_the_link_gets_a_failed_event(line: Line, receiver: Receiver) -> None:
    owner, other = line.friends(2)
    token = issue(line, owner)
    page = httpx.get(
        f"{line.url}/dialog/bot/accountLink",
        params={"linkToken": token, "nonce": NONCE, "as": other},
    )
    assert page.status_code == 403
    receiver.wait_for(1)
    event = json.loads(receiver.received[0][1])["events"][0]
    assert event["link"] == {"result": "failed", "nonce": NONCE}
    assert "source" not in event and "replyToken" not in event


def test_a_retry_key_on_a_non_send_endpoint_is_400(line: Line) -> None:
    user_id = line.friends(1)[0]
    response = line.client.get(
        f"/v2/bot/profile/{user_id}",
        headers={"X-Line-Retry-Key": "123e4567-e89b-12d3-a456-426614174000"},
    )
    assert response.status_code == 400
