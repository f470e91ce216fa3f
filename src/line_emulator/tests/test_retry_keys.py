import asyncio
import uuid

import httpx

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text


def test_reused_push_key_gets_409_with_the_accepted_request_id_and_sent_messages(
    api: httpx.Client, control: httpx.Client
) -> None:
    [user] = make_friends(control, 1)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    first = api.post("/v2/bot/message/push", json={"to": user, "messages": text()}, headers=key)
    again = api.post("/v2/bot/message/push", json={"to": user, "messages": text()}, headers=key)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["message"] == "The retry key is already accepted"
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert again.headers["x-line-request-id"] != first.headers["x-line-request-id"]
    assert again.json()["sentMessages"] == first.json()["sentMessages"]
    assert control.get(f"/friends/{user}").json()["received"] == 1


def test_reused_multicast_key_gets_409_without_sent_messages(
    api: httpx.Client, control: httpx.Client
) -> None:
    users = make_friends(control, 3)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": users, "messages": text()}
    first = api.post("/v2/bot/message/multicast", json=body, headers=key)
    again = api.post("/v2/bot/message/multicast", json=body, headers=key)

    assert (first.status_code, again.status_code) == (200, 409)
    assert "sentMessages" not in again.json()
    assert again.headers["x-line-accepted-request-id"] == first.headers["x-line-request-id"]
    assert control.get("/deliveries").json()["histogram"] == {"1": 3}


def test_retry_key_on_reply_is_rejected(api: httpx.Client) -> None:
    response = api.post(
        "/v2/bot/message/reply",
        json={"replyToken": "x", "messages": text()},
        headers={"X-Line-Retry-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 400


def test_retry_key_must_be_a_uuid(api: httpx.Client, control: httpx.Client) -> None:
    [user] = make_friends(control, 1)
    response = api.post(
        "/v2/bot/message/push",
        json={"to": user, "messages": text()},
        headers={"X-Line-Retry-Key": "not-a-uuid"},
    )
    assert response.status_code == 400
    assert control.get(f"/friends/{user}").json()["received"] == 0


def test_retry_key_is_forgotten_after_24_hours_of_emulator_time(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": user, "messages": text()}
    assert api.post("/v2/bot/message/push", json=body, headers=key).status_code == 200

    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 23 * 3600})
    assert api.post("/v2/bot/message/push", json=body, headers=key).status_code == 409
    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 3600})
    assert api.post("/v2/bot/message/push", json=body, headers=key).status_code == 200
    assert control.get(f"/friends/{user}").json()["received"] == 2


def test_a_rejected_request_does_not_lock_its_key(api: httpx.Client, control: httpx.Client) -> None:
    [user] = make_friends(control, 1)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    bad = api.post("/v2/bot/message/push", json={"to": user, "messages": []}, headers=key)
    good = api.post("/v2/bot/message/push", json={"to": user, "messages": text()}, headers=key)
    assert (bad.status_code, good.status_code) == (400, 200)


def test_concurrent_requests_with_one_key_deliver_once(
    emulator: EmulatorServer, control: httpx.Client
) -> None:
    users = make_friends(control, 5)
    headers = {
        "X-Line-Retry-Key": str(uuid.uuid4()),
        "Authorization": f"Bearer {emulator.channel.config.access_token}",
    }

    async def send_ten() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            body = {"to": users, "messages": text()}
            return await asyncio.gather(
                *(
                    client.post("/v2/bot/message/multicast", json=body, headers=headers)
                    for _ in range(10)
                )
            )

    responses = asyncio.run(send_ten())
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    assert control.get("/deliveries").json()["histogram"] == {"1": 5}
