"""The LINE client against the emulator over HTTP: results, request IDs, the error split."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from line_emulator.accounts import link_tokens
from line_emulator.testing import TEST_TOKEN, EmulatorServer
from otodoke.line.client import (
    LineApiError,
    LineClient,
    LineRateLimitError,
    LineRetryKeyAcceptedError,
    LineTransportError,
    hosts_for,
    with_backoff,
)

USER = "U" + "e" * 32


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[LineClient]:
    with LineClient.for_credentials(emulator.url, TEST_TOKEN) as line:
        yield line


@pytest.fixture
def friend(emulator: EmulatorServer) -> str:
    response = httpx.post(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}/friends",
        json={"friends": [{"user_id": USER, "display_name": "鈴木 一郎"}]},
    )
    assert response.status_code == 201
    return USER


def script_faults(emulator: EmulatorServer, *faults: str) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": list(faults)})
    assert response.status_code == 200


def test_real_line_gets_one_host_per_family_and_any_other_base_serves_all() -> None:
    line = hosts_for("https://api.line.me/")
    assert (line.messaging, line.data, line.access) == (
        "https://api.line.me",
        "https://api-data.line.me",
        "https://access.line.me",
    )
    local = hosts_for("http://127.0.0.1:8100/")
    assert local.messaging == local.data == local.access == "http://127.0.0.1:8100"
    assert local.account_link_url("tok", "n o").endswith(
        "/dialog/bot/accountLink?linkToken=tok&nonce=n+o"
    )


def test_profile_is_parsed(client: LineClient, friend: str) -> None:
    profile = client.get_profile(friend)
    assert profile.user_id == friend
    assert profile.display_name == "鈴木 一郎"


def test_unknown_profile_is_a_permanent_404(client: LineClient) -> None:
    with pytest.raises(LineApiError) as caught:
        client.get_profile("U" + "0" * 32)
    assert caught.value.status == 404
    assert caught.value.permanent
    assert caught.value.message == "Not found"
    assert caught.value.request_id


def test_bad_token_is_a_permanent_401(emulator: EmulatorServer) -> None:
    with (
        LineClient.for_credentials(emulator.url, "wrong") as line,
        pytest.raises(LineApiError) as caught,
    ):
        line.get_profile(USER)
    assert caught.value.status == 401
    assert caught.value.permanent


def test_server_errors_are_transient(
    emulator: EmulatorServer, client: LineClient, friend: str
) -> None:
    script_faults(emulator, "500")
    with pytest.raises(LineApiError) as caught:
        client.get_profile(friend)
    assert caught.value.status == 500
    assert caught.value.transient


def test_rate_limit_is_its_own_transient_class(
    emulator: EmulatorServer, client: LineClient, friend: str
) -> None:
    script_faults(emulator, "429")
    with pytest.raises(LineRateLimitError) as caught:
        client.get_profile(friend)
    assert caught.value.kind == "rate_limit"
    assert caught.value.transient


def test_monthly_limit_is_told_apart_from_the_rate_limit(
    emulator: EmulatorServer, client: LineClient, friend: str
) -> None:
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}",
        json={"quota_type": "limited", "quota_value": 0},
    )
    with pytest.raises(LineRateLimitError) as caught:
        client.call(
            "POST",
            "/v2/bot/message/push",
            json_body={"to": friend, "messages": [{"type": "text", "text": "hi"}]},
        )
    assert caught.value.kind == "monthly_limit"


def test_timeouts_and_drops_are_transient(emulator: EmulatorServer, friend: str) -> None:
    httpx.put(f"{emulator.url}/_emulator/faults", json={"timeout_seconds": 2.0})
    script_faults(emulator, "timeout-before", "drop-before")
    quick = httpx.Timeout(0.5)
    with LineClient.for_credentials(emulator.url, TEST_TOKEN, timeout=quick) as line:
        with pytest.raises(LineTransportError) as timed_out:
            line.get_profile(friend)
        with pytest.raises(LineTransportError) as dropped:
            line.get_profile(friend)
    assert timed_out.value.timeout and timed_out.value.transient
    assert not dropped.value.timeout and dropped.value.transient


def test_retry_key_conflict_is_surfaced_with_the_accepted_request(
    client: LineClient, friend: str
) -> None:
    key = str(uuid.uuid4())
    body = {"to": friend, "messages": [{"type": "text", "text": "hi"}]}
    first = client.call("POST", "/v2/bot/message/push", json_body=body, retry_key=key)

    with pytest.raises(LineRetryKeyAcceptedError) as caught:
        client.call("POST", "/v2/bot/message/push", json_body=body, retry_key=key)

    assert first.request_id
    assert caught.value.status == 409
    assert caught.value.accepted_request_id == first.request_id
    assert caught.value.sent_messages == first.body["sentMessages"]


def test_follower_ids_follow_next_across_pages(
    emulator: EmulatorServer, client: LineClient
) -> None:
    httpx.post(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}/friends",
        json={"count": 7},
    )
    pages = list(client.iter_follower_ids(limit=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert len({u for p in pages for u in p}) == 7


def test_with_backoff_retries_transient_errors_only(
    emulator: EmulatorServer, client: LineClient, friend: str
) -> None:
    script_faults(emulator, "429", "500")
    waits: list[float] = []
    profile = with_backoff(lambda: client.get_profile(friend), sleep=waits.append)
    assert profile.user_id == friend
    assert len(waits) == 2

    with pytest.raises(LineApiError):
        with_backoff(lambda: client.get_profile("U" + "0" * 32), sleep=waits.append)
    assert len(waits) == 2  # a 404 is not retried


def test_link_token_is_issued(client: LineClient, friend: str, emulator: EmulatorServer) -> None:
    token = client.issue_link_token(friend)
    # The token is the one LINE issued for this friend of this channel, still valid: the
    # account-link page can be opened with it.
    issued = link_tokens(emulator.emulator)[token]
    assert (issued.channel_id, issued.user_id) == (emulator.channel.channel_id, friend)
    assert not issued.used and issued.expires > emulator.emulator.now()
    assert client.issue_link_token(friend) != token
