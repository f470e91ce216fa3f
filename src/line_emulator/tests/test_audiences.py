"""Audience groups over real HTTP: uploads, lifecycle on the emulator clock, retargeting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from line_emulator.actions import record_click
from line_emulator.audiences import store
from line_emulator.testing import EmulatorServer
from line_emulator.tests.live import Line, line_on

BASE = "/v2/bot/audienceGroup"
LIFETIME = 15_552_000


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[Line]:
    with line_on(emulator) as running:
        yield running


def group(line: Line, group_id: int) -> dict[str, Any]:
    response = line.client.get(f"{BASE}/{group_id}")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_json_upload_becomes_ready_with_its_count(line: Line) -> None:
    # Jobs take 0.2 s by default: on a loaded machine the first GET could come later than that.
    store(line.channel).processing_seconds = 3.0
    ids = line.friends(25)
    created = line.client.post(
        f"{BASE}/upload",
        json={
            "description": "VIP",
            "uploadDescription": "pos export",
            "audiences": [{"id": i} for i in ids],
        },
    )
    assert created.status_code == 202
    body = created.json()
    assert body["type"] == "UPLOAD" and body["createRoute"] == "MESSAGING_API"
    assert body["expireTimestamp"] - body["created"] == LIFETIME

    first = group(line, body["audienceGroupId"])
    assert first["audienceGroup"]["status"] == "IN_PROGRESS"
    assert first["jobs"][0]["jobStatus"] == "WORKING"
    line.advance(5)
    ready = group(line, body["audienceGroupId"])
    assert ready["audienceGroup"]["status"] == "READY"
    assert ready["audienceGroup"]["audienceCount"] == 25
    assert (
        ready["jobs"][0] | {"jobStatus": "FINISHED", "description": "pos export"}
        == ready["jobs"][0]
    )


def test_file_upload_and_file_add(line: Line) -> None:
    ids = line.friends(6)
    text = "\n".join(ids[:4]) + "\n"
    created = line.client.post(
        f"{BASE}/upload/byFile",
        data={"description": "from file"},
        files={"file": ("ids.txt", text.encode(), "text/plain")},
    )
    assert created.status_code == 202
    group_id = created.json()["audienceGroupId"]
    added = line.client.put(
        f"{BASE}/upload/byFile",
        data={"audienceGroupId": str(group_id), "uploadDescription": "more"},
        files={"file": ("more.txt", "\n".join(ids[4:]).encode(), "text/plain")},
    )
    assert (added.status_code, added.json()) == (202, {})
    line.advance(5)
    body = group(line, group_id)
    assert body["audienceGroup"]["audienceCount"] == 6
    assert [job["audienceCount"] for job in body["jobs"]] == [2, 4]


def test_empty_upload_stays_in_progress(line: Line) -> None:
    created = line.client.post(f"{BASE}/upload", json={"description": "empty"})
    line.advance(3600)
    assert (
        group(line, created.json()["audienceGroupId"])["audienceGroup"]["status"] == "IN_PROGRESS"
    )


def test_one_invalid_id_rejects_the_whole_upload(line: Line) -> None:
    ids = [*line.friends(2), "not-a-user-id"]
    response = line.client.post(
        f"{BASE}/upload", json={"description": "bad", "audiences": [{"id": i} for i in ids]}
    )
    assert response.status_code == 400
    assert response.json() == {
        "message": "Invalid audience id format",
        "details": [
            {"message": "UPLOAD_AUDIENCE_GROUP_INVALID_AUDIENCE_ID_FORMAT", "property": "audiences"}
        ],
    }
    listed = line.client.get(f"{BASE}/list").json()
    assert listed["totalCount"] == 0


def test_description_rules_use_the_documented_codes(line: Line) -> None:
    blank = line.client.post(f"{BASE}/upload", json={"description": "  "})
    assert blank.json()["details"][0]["message"] == "AUDIENCE_GROUP_NAME_EMPTY"
    long = line.client.post(f"{BASE}/upload", json={"description": "x" * 121})
    assert long.json()["message"] == "size over audienceGroupName"
    missing = line.client.get(f"{BASE}/99")
    assert missing.status_code == 400
    assert missing.json()["details"][0]["message"] == "AUDIENCE_GROUP_NOT_FOUND"


def test_audience_expires_after_180_days_and_cannot_be_added_to(line: Line) -> None:
    ids = line.friends(3)
    group_id = line.client.post(
        f"{BASE}/upload", json={"description": "old", "audiences": [{"id": ids[0]}]}
    ).json()["audienceGroupId"]
    line.advance(LIFETIME - 10)
    assert group(line, group_id)["audienceGroup"]["status"] == "READY"
    line.advance(10)
    assert group(line, group_id)["audienceGroup"]["status"] == "EXPIRED"
    added = line.client.put(
        f"{BASE}/upload", json={"audienceGroupId": group_id, "audiences": [{"id": ids[1]}]}
    )
    assert added.status_code == 400
    assert added.json()["details"][0]["message"] == "AUDIENCE_GROUP_CAN_NOT_UPLOAD_STATUS_EXPIRED"


def test_list_pages_and_filters(line: Line) -> None:
    for n in range(5):
        line.client.post(f"{BASE}/upload", json={"description": f"Segment {n}"})
    page1 = line.client.get(f"{BASE}/list", params={"size": 2}).json()
    page3 = line.client.get(f"{BASE}/list", params={"size": 2, "page": 3}).json()
    assert (len(page1["audienceGroups"]), page1["hasNextPage"], page1["totalCount"]) == (2, True, 5)
    assert (len(page3["audienceGroups"]), page3["hasNextPage"]) == (1, False)
    found = line.client.get(f"{BASE}/list", params={"description": "segment 3"}).json()
    assert [g["description"] for g in found["audienceGroups"]] == ["Segment 3"]
    assert line.client.get(f"{BASE}/list", params={"size": 41}).status_code == 400


def test_rename_and_delete(line: Line) -> None:
    group_id = line.client.post(f"{BASE}/upload", json={"description": "a"}).json()[
        "audienceGroupId"
    ]
    renamed = line.client.put(f"{BASE}/{group_id}/updateDescription", json={"description": "b"})
    assert renamed.status_code == 200
    assert group(line, group_id)["audienceGroup"]["description"] == "b"
    assert line.client.delete(f"{BASE}/{group_id}").status_code == 200
    assert line.client.get(f"{BASE}/{group_id}").status_code == 400


def _broadcast_like_narrowcast(line: Line) -> str:
    response = line.client.post(
        "/v2/bot/message/narrowcast",
        json={"messages": [{"type": "text", "text": "https://shop.example/sale"}]},
    )
    assert response.status_code == 202, (response.status_code, response.headers, response.text)
    rid = response.headers["x-line-request-id"]
    line.advance(5)
    assert (
        line.client.get("/v2/bot/message/progress/narrowcast", params={"requestId": rid}).json()[
            "phase"
        ]
        == "succeeded"
    )
    return rid


def test_click_audience_from_recorded_clicks(line: Line) -> None:
    friends = line.friends(70)
    rid = _broadcast_like_narrowcast(line)
    for user_id in friends[:55]:
        record_click(line.emulator, line.channel, user_id, "https://shop.example/sale", rid)
    created = line.client.post(
        f"{BASE}/click",
        json={"description": "clicked", "requestId": rid, "clickUrl": "https://shop.example/sale"},
    )
    assert created.status_code == 202
    assert created.json()["requestId"] == rid
    line.advance(5)
    body = group(line, created.json()["audienceGroupId"])["audienceGroup"]
    assert (body["type"], body["status"], body["audienceCount"]) == ("CLICK", "READY", 55)

    other_url = line.client.post(
        f"{BASE}/click",
        json={"description": "other", "requestId": rid, "clickUrl": "https://shop.example/x"},
    )
    line.advance(5)
    failed = group(line, other_url.json()["audienceGroupId"])["audienceGroup"]
    assert (failed["status"], failed["failedType"]) == (
        "FAILED",
        "AUDIENCE_GROUP_AUDIENCE_INSUFFICIENT",
    )


def test_click_audience_needs_a_recent_broadcast_or_narrowcast(line: Line) -> None:
    line.friends(3)
    rid = _broadcast_like_narrowcast(line)
    unknown = line.client.post(f"{BASE}/click", json={"description": "x", "requestId": "abc"})
    assert unknown.json()["details"][0]["message"] == "REQUEST_NOT_FOUND"
    line.advance(61 * 24 * 3600)
    old = line.client.post(f"{BASE}/click", json={"description": "x", "requestId": rid})
    assert old.json()["details"][0]["message"] == "TOO_OLD_MESSAGES"


def test_file_upload_may_exceed_the_2_mb_json_cap(line: Line) -> None:
    # 70,000 IDs are about 2.4 MB: fine on the api-data host, 413 anywhere else.
    text = "\n".join(f"U{n:032x}" for n in range(70_000))
    created = line.client.post(
        f"{BASE}/upload/byFile",
        data={"description": "big"},
        files={"file": ("ids.txt", text.encode(), "text/plain")},
    )
    assert created.status_code == 202
    line.advance(5)
    assert (
        group(line, created.json()["audienceGroupId"])["audienceGroup"]["audienceCount"] == 70_000
    )
