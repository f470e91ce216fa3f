"""Narrowcast over real HTTP: acceptance rules, asynchronous phases and error codes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from line_emulator.tests.live import Line, line_on

TEXT = [{"type": "text", "text": "セール開催中"}]
PROGRESS = "/v2/bot/message/progress/narrowcast"


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[Line]:
    with line_on(emulator) as running:
        yield running


def narrowcast(line: Line, headers: dict[str, str] | None = None, **body: Any) -> httpx.Response:
    return line.client.post(
        "/v2/bot/message/narrowcast", json={"messages": TEXT, **body}, headers=headers or {}
    )


def finish(line: Line, request_id: str) -> dict[str, Any]:
    """Move the emulator clock past the job's waiting and sending phases, then read it."""
    line.advance(5)
    response = line.client.get(PROGRESS, params={"requestId": request_id})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def set_gender(line: Line, user_ids: list[str], gender: str) -> None:
    for user_id in user_ids:
        line.channel.friends[user_id].gender = gender  # type: ignore[assignment]


def upload_audience(line: Line, user_ids: list[str]) -> int:
    response = line.client.post(
        "/v2/bot/audienceGroup/upload",
        json={"description": "customers", "audiences": [{"id": u} for u in user_ids]},
    )
    assert response.status_code == 202
    group_id: int = response.json()["audienceGroupId"]
    return group_id


def test_narrowcast_to_all_friends_succeeds_with_counts(line: Line) -> None:
    friends = line.friends(30)
    response = narrowcast(line)
    assert response.status_code == 202
    assert response.json() == {}
    rid = response.headers["x-line-request-id"]

    waiting = line.client.get(PROGRESS, params={"requestId": rid}).json()
    assert waiting["phase"] == "waiting"
    assert "successCount" not in waiting
    assert waiting["acceptedTime"].endswith("Z") and len(waiting["acceptedTime"]) == 24

    done = finish(line, rid)
    assert done["phase"] == "succeeded"
    assert (done["successCount"], done["failureCount"], done["targetCount"]) == (30, 0, 30)
    assert done["completedTime"] >= done["acceptedTime"]
    assert all(line.channel.friends[u].received[-1].request_id == rid for u in friends)


def test_too_few_recipients_after_a_demographic_filter_fails_with_code_2(line: Line) -> None:
    friends = line.friends(120)
    set_gender(line, friends[:30], "male")
    set_gender(line, friends[30:], "female")
    response = narrowcast(line, filter={"demographic": {"type": "gender", "oneOf": ["male"]}})
    assert response.status_code == 202

    done = finish(line, response.headers["x-line-request-id"])
    assert done["phase"] == "failed"
    assert done["errorCode"] == 2
    assert all(not line.channel.friends[u].received for u in friends)


def test_demographic_filter_reaches_only_matching_friends(line: Line) -> None:
    friends = line.friends(120)
    set_gender(line, friends[:60], "male")
    set_gender(line, friends[60:], "female")
    demographic = {
        "type": "operator",
        "and": [
            {"type": "gender", "oneOf": ["female"]},
            {"type": "operator", "not": {"type": "appType", "oneOf": ["ios", "android"]}},
        ],
    }
    # Everyone has an app type, so `not` leaves nobody: the job fails for too few recipients.
    response = narrowcast(line, filter={"demographic": demographic})
    assert finish(line, response.headers["x-line-request-id"])["errorCode"] == 2

    response = narrowcast(line, filter={"demographic": {"type": "gender", "oneOf": ["female"]}})
    done = finish(line, response.headers["x-line-request-id"])
    assert (done["phase"], done["successCount"]) == ("succeeded", 60)


def test_low_target_reach_with_a_demographic_filter_is_403(line: Line) -> None:
    line.friends(99)
    response = narrowcast(line, filter={"demographic": {"type": "age", "gte": "age_20"}})
    assert response.status_code == 403
    assert response.json() == {"message": "Your account does not have enough friends"}


def test_small_audience_among_several_fails_with_code_4(line: Line) -> None:
    friends = line.friends(80)
    # An impression audience is not exempt from the 50 minimum (own uploads are).
    sent = narrowcast(
        line, recipient={"type": "audience", "audienceGroupId": upload(line, friends)}
    )
    source = sent.headers["x-line-request-id"]
    assert finish(line, source)["successCount"] == 80
    imp = line.client.post(
        "/v2/bot/audienceGroup/imp", json={"description": "saw it", "requestId": source}
    )
    assert imp.status_code == 202
    line.advance(5)
    imp_id = imp.json()["audienceGroupId"]
    assert line.client.get(f"/v2/bot/audienceGroup/{imp_id}").json()["audienceGroup"]["status"] == (
        "READY"
    )
    for user_id in friends[:40]:
        line.channel.friends[user_id].status = "blocked"

    other = upload(line, friends[40:])
    recipient = {
        "type": "operator",
        "or": [
            {"type": "audience", "audienceGroupId": imp_id},
            {"type": "audience", "audienceGroupId": other},
        ],
    }
    done = finish(line, narrowcast(line, recipient=recipient).headers["x-line-request-id"])
    assert (done["phase"], done["errorCode"]) == ("failed", 4)


def upload(line: Line, user_ids: list[str]) -> int:
    group_id = upload_audience(line, user_ids)
    line.advance(5)
    return group_id


def test_forbid_partial_delivery_cancels_with_code_5(line: Line) -> None:
    line.friends(120)
    line.channel.config.quota_type, line.channel.config.quota_value = "limited", 100
    limit = {"upToRemainingQuota": True, "forbidPartialDelivery": True}
    response = narrowcast(line, limit=limit)
    assert response.status_code == 202
    done = finish(line, response.headers["x-line-request-id"])
    assert (done["phase"], done["errorCode"]) == ("failed", 5)
    # The quota hold is released when the job ends.
    assert line.emulator.quota_usage(line.channel) == 0


def test_limit_max_caps_recipients_and_quota_is_held_while_waiting(line: Line) -> None:
    line.friends(120)
    response = narrowcast(line, limit={"max": 70})
    assert line.emulator.quota_usage(line.channel) == 70
    done = finish(line, response.headers["x-line-request-id"])
    assert (done["successCount"], done["targetCount"]) == (70, 70)
    assert line.emulator.quota_usage(line.channel) == 70


def test_reach_above_the_remaining_quota_is_refused(line: Line) -> None:
    line.friends(120)
    line.channel.config.quota_type, line.channel.config.quota_value = "limited", 100
    response = narrowcast(line)
    assert response.status_code == 429
    assert response.json() == {"message": "You have reached your monthly limit."}


def test_forbid_partial_delivery_needs_up_to_remaining_quota(line: Line) -> None:
    response = narrowcast(line, limit={"forbidPartialDelivery": True})
    assert response.status_code == 400
    assert response.json()["message"] == (
        "The option forbidPartialDelivery must be used with upToRemainingQuota."
    )


def test_bad_recipient_objects_are_rejected(line: Line) -> None:
    empty_or = {"type": "operator", "or": []}
    assert narrowcast(line, recipient=empty_or).status_code == 400
    eleven = {
        "type": "operator",
        "or": [{"type": "audience", "audienceGroupId": n} for n in range(11)],
    }
    assert narrowcast(line, recipient=eleven).status_code == 400
    unknown = narrowcast(line, recipient={"type": "audience", "audienceGroupId": 42})
    assert unknown.json() == {"message": "Invalid audience group id: 42"}


def test_redelivery_targets_the_earlier_recipients(line: Line) -> None:
    friends = line.friends(60)
    first = narrowcast(
        line, recipient={"type": "audience", "audienceGroupId": upload(line, friends[:10])}
    )
    rid = first.headers["x-line-request-id"]
    pending = narrowcast(line, recipient={"type": "redelivery", "requestId": rid})
    assert pending.json() == {"message": f"Invalid request id: {rid}"}
    finish(line, rid)
    again = narrowcast(line, recipient={"type": "redelivery", "requestId": rid})
    assert finish(line, again.headers["x-line-request-id"])["successCount"] == 10


def test_retry_key_repeat_is_409_with_the_accepted_request_id(line: Line) -> None:
    line.friends(5)
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    first = narrowcast(line, headers=key)
    second = narrowcast(line, headers=key)
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json() == {"message": "The retry key is already accepted"}
    accepted = first.headers["x-line-request-id"]
    assert second.headers["x-line-accepted-request-id"] == accepted
    assert finish(line, accepted)["successCount"] == 5
    assert all(len(f.received) == 1 for f in line.channel.friends.values())


def test_progress_is_gone_after_14_days_and_validates_the_id(line: Line) -> None:
    line.friends(3)
    rid = narrowcast(line).headers["x-line-request-id"]
    assert finish(line, rid)["phase"] == "succeeded"
    line.advance(14 * 24 * 3600)
    gone = line.client.get(PROGRESS, params={"requestId": rid})
    assert (gone.status_code, gone.json()) == (404, {"message": "Not found"})
    unknown = line.client.get(PROGRESS, params={"requestId": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert line.client.get(PROGRESS, params={"requestId": "nope"}).status_code == 400


def test_background_task_finishes_a_job_without_anyone_polling(line: Line) -> None:
    friends = line.friends(3)
    narrowcast(line)
    for _ in range(100):
        if all(line.channel.friends[u].received for u in friends):
            break
        import time

        time.sleep(0.05)
    assert all(line.channel.friends[u].received for u in friends)


def test_filtered_narrowcast_leaves_out_thai_users_under_20(line: Line) -> None:
    friends = line.friends(120)
    set_gender(line, friends, "female")
    for user_id in friends[:10]:
        line.channel.friends[user_id].area, line.channel.friends[user_id].age = "th_01", 17
    response = narrowcast(line, filter={"demographic": {"type": "gender", "oneOf": ["female"]}})
    assert finish(line, response.headers["x-line-request-id"])["successCount"] == 110


def test_in_flight_narrowcast_holds_the_whole_target_reach(line: Line) -> None:
    friends = line.friends(120)
    line.channel.config.quota_type, line.channel.config.quota_value = "limited", 125
    audience = upload(line, friends[:10])
    response = narrowcast(line, recipient={"type": "audience", "audienceGroupId": audience})
    multicast = {"to": friends[10:20], "messages": TEXT}
    # 120 are held for the narrowcast although only 10 will get it, so 10 more do not fit.
    blocked = line.client.post("/v2/bot/message/multicast", json=multicast)
    assert (blocked.status_code, blocked.json()) == (
        429,
        {"message": "You have reached your monthly limit."},
    )
    assert finish(line, response.headers["x-line-request-id"])["successCount"] == 10
    assert line.client.post("/v2/bot/message/multicast", json=multicast).status_code == 200
