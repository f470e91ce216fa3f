"""/api/v1/autoreplies: create (problems with their field), list in priority order, reorder,
enable/disable, the test endpoint, recent answers, scopes; and the OpenAPI schema lists it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from otodoke.api.tests.conftest import ApiClient, error_of

pytestmark = pytest.mark.django_db
BASE = "/api/v1/autoreplies"
ANSWER = [{"type": "text", "text": "ご予約はこちら"}]


def keyword(client: ApiClient, name: str, words: list[str], **more: object) -> dict[str, object]:
    made = client.post(
        BASE, {"kind": "keyword", "name": name, "keywords": words, "messages": ANSWER, **more}
    )
    assert made.status_code == 201, made.json()
    body: dict[str, object] = made.json()
    return body


def test_create_list_reorder_disable_and_test(api: Callable[..., ApiClient]) -> None:
    client = api("read", "write")
    first = keyword(client, "一般", ["予約"], match_type="contains")
    second = keyword(client, "カット", ["カット予約"])
    assert [r["name"] for r in client.get(BASE).json()] == ["一般", "カット"]

    tried = client.post(f"{BASE}/test", {"text": "カット予約"}).json()
    assert tried["rule"]["id"] == first["id"]

    reordered = client.post(f"{BASE}/order", {"ids": [second["id"]]}).json()
    assert [(r["name"], r["position"]) for r in reordered] == [("カット", 1), ("一般", 2)]
    assert client.post(f"{BASE}/test", {"text": "カット予約"}).json()["rule"]["id"] == second["id"]

    off = client.send("patch", f"{BASE}/{second['id']}", {"enabled": False})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert client.post(f"{BASE}/test", {"text": "カット予約"}).json()["rule"]["id"] == first["id"]
    assert client.get(f"{BASE}/replies").json() == []

    assert client.delete(f"{BASE}/{first['id']}").status_code == 204
    assert client.get(f"{BASE}/{first['id']}").status_code == 404


def test_problems_name_their_field_and_lines_limits(api: Callable[..., ApiClient]) -> None:
    client = api("read", "write")
    long = client.post(
        BASE,
        {
            "kind": "keyword",
            "name": "長文",
            "keywords": ["長文"],
            "messages": [{"type": "text", "text": "あ" * 5001}],
        },
    )
    assert long.status_code == 422
    error = error_of(long)
    assert error["code"] == "invalid_rule"
    assert [d["path"] for d in error["details"]] == ["messages[0].text"]

    away = client.post(BASE, {"kind": "away", "name": "時間外", "messages": ANSWER})
    assert {d["path"] for d in error_of(away)["details"]} == {"opens_at", "closes_at"}
    postback = client.post(BASE, {"kind": "postback", "name": "p", "messages": ANSWER})
    assert [d["path"] for d in error_of(postback)["details"]] == ["postback_key"]


def test_away_rule_round_trips_its_business_hours(api: Callable[..., ApiClient]) -> None:
    client = api("read", "write")
    made = client.post(
        BASE,
        {
            "kind": "away",
            "name": "時間外",
            "open_days": [0, 1, 2, 3, 4],
            "opens_at": "10:00",
            "closes_at": "19:00",
            "messages": ANSWER,
        },
    ).json()
    assert (made["open_days"], made["opens_at"], made["closes_at"]) == (
        [0, 1, 2, 3, 4],
        "10:00:00",
        "19:00:00",
    )
    saturday_noon = "2026-12-05T12:00:00+09:00"
    tried = client.post(f"{BASE}/test", {"text": "今日あいてますか", "at": saturday_noon}).json()
    assert tried["rule"]["id"] == made["id"]


def test_reading_needs_read_and_changing_needs_write(api: Callable[..., ApiClient]) -> None:
    reader = api("read")
    assert reader.get(BASE).status_code == 200
    denied = reader.post(BASE, {"kind": "welcome", "name": "w", "messages": ANSWER})
    assert denied.status_code == 403


def test_the_openapi_schema_lists_the_autoreply_endpoints(api: Callable[..., ApiClient]) -> None:
    schema = api("read").get("/api/v1/openapi.json").json()
    paths = set(schema["paths"])
    assert {BASE, f"{BASE}/{{rule_id}}", f"{BASE}/order", f"{BASE}/test"} <= paths
