"""Insight and per-unit statistics over real HTTP, computed from recorded sends and clicks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from line_emulator.actions import record_click
from line_emulator.state import JST
from line_emulator.testing import EmulatorServer
from line_emulator.tests.live import Line, line_on

DAY = 24 * 3600
URL = "https://shop.example/sale"


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[Line]:
    with line_on(emulator) as running:
        yield running


def jst_day(line: Line, offset_days: int = 0) -> str:
    moment = line.emulator.now() + timedelta(days=offset_days)
    return moment.astimezone(JST).strftime("%Y%m%d")


def sent_narrowcast(line: Line) -> str:
    response = line.client.post(
        "/v2/bot/message/narrowcast",
        json={"messages": [{"type": "text", "text": f"sale {URL}"}]},
    )
    rid = response.headers["x-line-request-id"]
    line.advance(5)
    return rid


def test_message_event_counts_deliveries_and_clicks_with_privacy_nulls(line: Line) -> None:
    friends = line.friends(40)
    rid = sent_narrowcast(line)
    for user_id in friends[:25]:
        record_click(line.emulator, line.channel, user_id, URL, rid)
    record_click(line.emulator, line.channel, friends[0], URL, rid)

    body = line.client.get("/v2/bot/insight/message/event", params={"requestId": rid}).json()
    overview = body["overview"]
    assert (overview["requestId"], overview["delivered"]) == (rid, 40)
    assert (overview["uniqueImpression"], overview["uniqueClick"]) == (40, 25)
    assert body["messages"][0]["seq"] == 1 and body["messages"][0]["impression"] == 40
    assert body["clicks"] == [
        {"seq": 1, "url": URL, "click": 26, "uniqueClick": 25, "uniqueClickOfRequest": 25}
    ]


def test_small_numbers_are_null(line: Line) -> None:
    friends = line.friends(10)
    rid = sent_narrowcast(line)
    record_click(line.emulator, line.channel, friends[0], URL, rid)
    body = line.client.get("/v2/bot/insight/message/event", params={"requestId": rid}).json()
    # `delivered` shows small values; everything else under 20 is hidden.
    assert body["overview"]["delivered"] == 10
    assert body["overview"]["uniqueImpression"] is None
    assert body["clicks"][0]["click"] is None


def test_message_event_only_for_narrowcast_and_broadcast(line: Line) -> None:
    user_id = line.friends(1)[0]
    push = line.client.post(
        "/v2/bot/message/push", json={"to": user_id, "messages": [{"type": "text", "text": "x"}]}
    )
    rid = push.headers["x-line-request-id"]
    response = line.client.get("/v2/bot/insight/message/event", params={"requestId": rid})
    assert response.status_code == 404


def test_delivery_counts_are_ready_the_next_day(line: Line) -> None:
    line.friends(3)
    sent_narrowcast(line)
    today = jst_day(line)
    same_day = line.client.get("/v2/bot/insight/message/delivery", params={"date": today})
    assert same_day.json() == {"status": "unready"}
    line.advance(DAY)
    body = line.client.get("/v2/bot/insight/message/delivery", params={"date": today}).json()
    assert (body["status"], body["apiNarrowcast"], body["apiPush"]) == ("ready", 3, 0)
    bad = line.client.get("/v2/bot/insight/message/delivery", params={"date": "2024-01-01"})
    assert bad.status_code == 400


def test_followers_and_demographic(line: Line) -> None:
    friends = line.friends(25)
    line.channel.friends[friends[0]].status = "blocked"
    today = jst_day(line)
    line.advance(DAY)
    body = line.client.get("/v2/bot/insight/followers", params={"date": today}).json()
    assert body == {"status": "ready", "followers": 25, "targetedReaches": 24, "blocks": 1}
    assert line.client.get("/v2/bot/insight/followers").status_code == 400

    demographic = line.client.get("/v2/bot/insight/demographic").json()
    assert demographic["available"] is True
    assert round(sum(g["percentage"] for g in demographic["genders"])) == 100


def test_per_unit_statistics_and_unit_names(line: Line) -> None:
    friends = line.friends(30)
    for start in (0, 15):
        response = line.client.post(
            "/v2/bot/message/multicast",
            json={
                "to": friends[start : start + 15],
                "messages": [{"type": "text", "text": URL}],
                "customAggregationUnits": ["spring_sale"],
            },
        )
        assert response.status_code == 200
    today = jst_day(line)
    params = {"customAggregationUnit": "spring_sale", "from": today, "to": today}
    body = line.client.get("/v2/bot/insight/message/event/aggregation", params=params).json()
    assert body["overview"]["uniqueImpression"] == 30
    assert body["messages"][0]["impression"] == 30

    too_long = {**params, "to": jst_day(line, 31)}
    response = line.client.get("/v2/bot/insight/message/event/aggregation", params=too_long)
    assert response.status_code == 400

    info = line.client.get("/v2/bot/message/aggregation/info").json()
    assert info == {"numOfCustomAggregationUnits": 1}
    names = line.client.get("/v2/bot/message/aggregation/list").json()
    assert names == {"customAggregationUnits": ["spring_sale"]}
