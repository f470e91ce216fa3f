import httpx

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text

RATE_MESSAGE = "The API rate limit has been exceeded. Try again later."


def test_empty_bucket_gives_429_and_refills_with_time(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 2)
    httpx.put(
        f"{emulator.url}/_emulator/rate-limits",
        json={"overrides": {"multicast": "2/s"}},
    )
    body = {"to": users, "messages": text()}
    statuses = [api.post("/v2/bot/message/multicast", json=body).status_code for _ in range(3)]
    refused = api.post("/v2/bot/message/multicast", json=body)

    assert statuses[:2] == [200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"message": RATE_MESSAGE}

    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 1})
    assert api.post("/v2/bot/message/multicast", json=body).status_code == 200


def test_broadcast_allows_its_hourly_budget_then_refuses(
    api: httpx.Client, emulator: EmulatorServer
) -> None:
    statuses = [
        api.post("/v2/bot/message/broadcast", json={"messages": text()}).status_code
        for _ in range(61)
    ]
    assert statuses[:60] == [200] * 60
    assert statuses[60] == 429
    # 60/hour refills one request a minute.
    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 60})
    assert api.post("/v2/bot/message/broadcast", json={"messages": text()}).status_code == 200


def test_buckets_are_per_endpoint(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    httpx.put(f"{emulator.url}/_emulator/rate-limits", json={"overrides": {"push": "1/s"}})
    assert (
        api.post("/v2/bot/message/push", json={"to": user, "messages": text()}).status_code == 200
    )
    assert (
        api.post("/v2/bot/message/push", json={"to": user, "messages": text()}).status_code == 429
    )
    assert (
        api.post("/v2/bot/message/multicast", json={"to": [user], "messages": text()}).status_code
        == 200
    )


def test_rate_limits_can_be_switched_off(api: httpx.Client, emulator: EmulatorServer) -> None:
    httpx.put(f"{emulator.url}/_emulator/rate-limits", json={"enabled": False})
    statuses = {
        api.post("/v2/bot/message/broadcast", json={"messages": text()}).status_code
        for _ in range(70)
    }
    assert statuses == {200}
