import uuid

import httpx

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text


def test_blocked_friend_receives_nothing_but_the_request_succeeds(
    api: httpx.Client, control: httpx.Client
) -> None:
    [following] = make_friends(control, 1)
    [blocked] = make_friends(control, 1, status="blocked")
    unknown = "U" + "0" * 32

    multicast = api.post(
        "/v2/bot/message/multicast", json={"to": [following, blocked, unknown], "messages": text()}
    )
    push = api.post("/v2/bot/message/push", json={"to": blocked, "messages": text()})

    assert (multicast.status_code, push.status_code) == (200, 200)
    assert control.get(f"/friends/{following}").json()["received"] == 1
    assert control.get(f"/friends/{blocked}").json()["received"] == 0


def test_push_to_a_malformed_id_is_400(api: httpx.Client) -> None:
    response = api.post("/v2/bot/message/push", json={"to": "nobody", "messages": text()})
    assert response.status_code == 400
    assert response.json() == {"message": "Failed to send messages"}


def test_quota_exhaustion_is_429_and_delivers_to_no_one(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 3)
    changed = httpx.patch(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}",
        json={"quota_type": "limited", "quota_value": 4},
    )
    assert changed.status_code == 200

    first = api.post("/v2/bot/message/multicast", json={"to": users, "messages": text()})
    second = api.post("/v2/bot/message/multicast", json={"to": users, "messages": text()})

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json() == {"message": "You have reached your monthly limit."}
    assert control.get("/deliveries").json()["histogram"] == {"1": 3}
    assert api.get("/v2/bot/message/quota").json() == {"type": "limited", "value": 4}
    assert api.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 3}


def test_broadcast_reaches_every_following_friend_once(
    api: httpx.Client, control: httpx.Client
) -> None:
    make_friends(control, 50)
    make_friends(control, 5, status="blocked")
    response = api.post("/v2/bot/message/broadcast", json={"messages": text()})
    summary = control.get(
        "/deliveries", params={"request_id": response.headers["x-line-request-id"]}
    ).json()
    assert summary["recipients"] == 50
    assert summary["histogram"] == {"0": 5, "1": 50}


def test_delivery_counts_are_ready_the_next_day_in_jst(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 2)
    api.post("/v2/bot/message/multicast", json={"to": users, "messages": text()})
    from line_emulator.state import JST

    today = emulator.emulator.now().astimezone(JST).strftime("%Y%m%d")
    assert api.get("/v2/bot/message/delivery/multicast", params={"date": today}).json() == {
        "status": "unready"
    }
    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 86400})
    assert api.get("/v2/bot/message/delivery/multicast", params={"date": today}).json() == {
        "status": "ready",
        "success": 2,
    }


def test_reply_token_from_a_webhook_works_once(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    event = control.post(f"/friends/{user}/message", json={"text": "hi"}).json()
    token = event["webhook"]["events"][0]["replyToken"]

    first = api.post("/v2/bot/message/reply", json={"replyToken": token, "messages": text()})
    again = api.post("/v2/bot/message/reply", json={"replyToken": token, "messages": text()})

    assert first.status_code == 200
    assert again.json() == {"message": "Invalid reply token"}
    assert api.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 0}


def test_reply_token_expires_after_a_minute(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    event = control.post(f"/friends/{user}/message", json={"text": "hi"}).json()
    token = event["webhook"]["events"][0]["replyToken"]
    httpx.post(f"{emulator.url}/_emulator/clock/advance", json={"seconds": 61})
    response = api.post("/v2/bot/message/reply", json={"replyToken": token, "messages": text()})
    assert response.status_code == 400


def test_friend_messages_record_request_id_and_retry_key(
    api: httpx.Client, control: httpx.Client
) -> None:
    [user] = make_friends(control, 1)
    key = "123e4567-e89b-12d3-a456-426614174000"
    response = api.post(
        "/v2/bot/message/push",
        json={"to": user, "messages": text("yo")},
        headers={"X-Line-Retry-Key": key},
    )
    [record] = control.get(f"/friends/{user}/messages").json()["received"]
    assert record["request_id"] == response.headers["x-line-request-id"]
    assert record["retry_key"] == key
    assert record["endpoint"] == "push"
    assert record["messages"] == text("yo")


def test_multicast_to_repeated_friends_delivers_once_each_in_request_order(
    api: httpx.Client, control: httpx.Client
) -> None:
    first, second, third = make_friends(control, 3)
    to = [third, first, third, second, first]

    response = api.post("/v2/bot/message/multicast", json={"to": to, "messages": text()})

    assert response.status_code == 200
    detail = control.get(f"/requests/{response.headers['x-line-request-id']}").json()
    assert detail["recipients"] == [third, first, second]
    assert detail["target_count"] == 5
    assert [control.get(f"/friends/{u}").json()["received"] for u in to] == [1] * 5


def test_multicast_names_a_non_string_recipient_after_known_friends(
    api: httpx.Client, control: httpx.Client
) -> None:
    users = make_friends(control, 2)
    for bad in (7, {"id": users[0]}, [users[0]], None):
        response = api.post(
            "/v2/bot/message/multicast", json={"to": [*users, bad], "messages": text()}
        )
        assert response.status_code == 400, bad
        assert response.json() == {"message": "The property, to[2], in the request body is invalid"}
    assert control.get("/deliveries").json()["deliveries"] == 0


def test_every_response_has_a_fresh_version_4_request_id(api: httpx.Client) -> None:
    ok = api.get("/v2/bot/message/quota")
    error = api.post("/v2/bot/message/push", json={"to": "nobody", "messages": text()})

    ids = [ok.headers["x-line-request-id"], error.headers["x-line-request-id"]]
    parsed = [uuid.UUID(rid) for rid in ids]
    assert [str(p) for p in parsed] == ids  # lower-case, hyphenated
    assert [(p.version, p.variant) for p in parsed] == [(4, uuid.RFC_4122)] * 2
    assert ids[0] != ids[1]


def test_quota_counts_only_reachable_recipients_when_the_named_users_would_not_fit(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [following] = make_friends(control, 1)
    blocked = make_friends(control, 2, status="blocked")
    unknown = "U" + "0" * 32
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}",
        json={"quota_type": "limited", "quota_value": 1},
    )
    to = [following, *blocked, unknown]

    first = api.post("/v2/bot/message/multicast", json={"to": to, "messages": text()})
    second = api.post("/v2/bot/message/multicast", json={"to": to, "messages": text()})

    assert (first.status_code, second.status_code) == (200, 429)
    assert api.get("/v2/bot/message/quota/consumption").json() == {"totalUsage": 1}
    assert control.get(f"/friends/{following}").json()["received"] == 1
