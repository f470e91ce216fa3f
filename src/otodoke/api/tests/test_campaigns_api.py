"""Campaigns over the API, sending to the LINE emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN
from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.campaigns import engine
from otodoke.campaigns.models import Campaign, CampaignStatus, DeliveryStatus
from otodoke.campaigns.tests.conftest import TEXT, Line, make_contacts
from otodoke.contacts.models import LineStatus
from otodoke.tracking.services import create_tracked_link, record_click
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.services import create_workspace


@pytest.fixture
def line(emulator: Any) -> Line:
    return Line(emulator)


@pytest.fixture
def workspace(db: None, line: Line, settings: Any) -> Workspace:
    """Replaces the API tests' workspace: this one's channel is the emulator."""
    settings.OTODOKE_MULTICAST_SIZE = 10
    settings.OTODOKE_LINE_SEND_TIMEOUT = 2
    settings.OTODOKE_RESULT_FLUSH_SECONDS = 0.05
    settings.PUBLIC_BASE_URL = "https://otodoke.example"
    return create_workspace(
        name="Salon",
        channel_id=TEST_CHANNEL_ID,
        channel_secret="secret",
        channel_access_token=TEST_TOKEN,
        api_base_url=line.url,
        actor_name="test",
    )


def run(delivery_id: int) -> str:
    status = ""
    for _ in range(60):
        status = engine.run_delivery(delivery_id)
        if status != DeliveryStatus.SENDING:
            break
    return status


def _create(client: ApiClient, **changes: Any) -> Any:
    body = {"name": "春", "messages": TEXT, "target": {"all_friends": True}, **changes}
    return client.post("/api/v1/campaigns", body)


def test_messages_are_checked_with_paths(api: Callable[..., ApiClient]) -> None:
    messages = [{"type": "text", "text": "ok"}, {"type": "text", "text": "あ" * 5001}]
    response = _create(api("write"), messages=messages)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_messages"
    assert [d["path"] for d in error["details"]] == ["messages[1].text"]
    template = _create(api("write"), messages=[{"type": "text", "text": "{{ name "}])
    assert [d["path"] for d in error_of(template)["details"]] == ["messages[0].text"]
    six = _create(api("write"), messages=TEXT * 6)
    assert [d["path"] for d in error_of(six)["details"]] == ["messages"]
    untyped = _create(api("write"), messages=[{"text": "hi"}])
    assert [d["path"] for d in error_of(untyped)["details"]] == ["messages[0]"]
    assert not Campaign.objects.exists()


def test_target_is_checked_with_paths(api: Callable[..., ApiClient]) -> None:
    target = {
        "include": [{"segment": 99}, {"definition": {"version": 1}}],
        "exclude": [{"audience": 7}],
    }
    response = _create(api("write"), target=target)
    assert response.status_code == 422
    assert [d["path"] for d in error_of(response)["details"]] == [
        "target.include[0].segment",
        "target.include[1].definition.where",
        "target.exclude[0].audience",
    ]
    nobody = _create(api("write"), target={})
    assert [d["path"] for d in error_of(nobody)["details"]] == ["target"]
    two = _create(api("write"), target={"include": [{"segment": 1, "audience": 1}]})
    assert two.status_code == 422


def test_send_status_results_and_audit(
    api: Callable[..., ApiClient], workspace: Workspace, line: Line
) -> None:
    friends = make_contacts(workspace, line, 3)
    blocked = make_contacts(workspace, line, 1, status=LineStatus.BLOCKED)
    # Named contacts, not all friends: all friends goes out as one broadcast, which LINE (and
    # the emulator) deliver to every follower whatever our records say.
    everyone = [c.pk for c in friends + blocked]
    created = _create(api("write"), target={"include": [{"contacts": everyone}]})
    assert created.status_code == 201, created.content
    campaign_id = created.json()["id"]
    assert created.json()["status"] == "draft" and created.json()["live"] is None

    refused = api("read", "write").post(f"/api/v1/campaigns/{campaign_id}/send", {})
    assert refused.status_code == 403 and "send" in error_of(refused)["message"]

    sent = api("send").post(f"/api/v1/campaigns/{campaign_id}/send", {})
    assert sent.status_code == 202, sent.content
    assert sent.json()["status"] == "sending"
    assert run(sent.json()["live"]["id"]) == DeliveryStatus.DONE
    assert set(line.copies()) == {c.line_user_id for c in friends}

    status = api("read").get(f"/api/v1/campaigns/{campaign_id}").json()
    assert status["status"] == "sent"
    assert (status["live"]["sent"], status["live"]["progress"]) == (3, 100.0)

    page = api("read").get(f"/api/v1/campaigns/{campaign_id}/recipients", {"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    assert all(r["line_user_id"] is None for r in page["items"])  # no pii scope
    rest = api("read").get(
        f"/api/v1/campaigns/{campaign_id}/recipients", {"limit": 2, "cursor": page["next_cursor"]}
    )
    assert len(rest.json()["items"]) == 2 and rest.json()["next_cursor"] is None
    excluded = api("read", "pii").get(
        f"/api/v1/campaigns/{campaign_id}/recipients", {"status": "excluded"}
    )
    (row,) = excluded.json()["items"]
    assert row["contact_id"] == blocked[0].pk and row["reason"] == "blocked"
    assert row["line_user_id"] == blocked[0].line_user_id

    again = api("send").post(f"/api/v1/campaigns/{campaign_id}/send", {})
    assert again.status_code == 409 and error_of(again)["code"] == "invalid_state"
    assert line.copies() == {c.line_user_id: 1 for c in friends}
    log = AuditLog.objects.get(action=AuditAction.CAMPAIGN_SENT)
    assert log.actor_label.startswith("api:test (")


def test_approval_required_is_409(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    workspace.require_approval = True
    workspace.save()
    campaign_id = _create(api("write")).json()["id"]
    assert api("read").get(f"/api/v1/campaigns/{campaign_id}").json()["needs_approval"] is True
    response = api("send").post(f"/api/v1/campaigns/{campaign_id}/send", {})
    assert response.status_code == 409
    assert error_of(response)["code"] == "approval_required"
    assert Campaign.objects.get().status == CampaignStatus.DRAFT


def test_test_send(api: Callable[..., ApiClient], workspace: Workspace, line: Line) -> None:
    staff = make_contacts(workspace, line, 1)[0]
    campaign_id = _create(api("write")).json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}/test"
    assert api("write").post(url, {"contact_ids": [staff.pk]}).status_code == 403
    unknown = api("send").post(url, {"contact_ids": [staff.pk, 10**9]})
    assert [d["path"] for d in error_of(unknown)["details"]] == ["contact_ids[1]"]
    response = api("send").post(url, {"contact_ids": [staff.pk]})
    assert response.status_code == 202 and response.json()["kind"] == "test"
    assert run(response.json()["id"]) == DeliveryStatus.DONE
    assert line.copies() == {staff.line_user_id: 1}
    status = api("read").get(f"/api/v1/campaigns/{campaign_id}").json()
    assert status["status"] == "draft" and status["tests"][0]["sent"] == 1
    results = api("read").get(
        f"/api/v1/campaigns/{campaign_id}/recipients", {"delivery_id": response.json()["id"]}
    )
    assert [r["status"] for r in results.json()["items"]] == ["sent"]


def test_schedule_then_cancel(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    campaign_id = _create(api("write")).json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}"
    past = api("send").post(f"{url}/schedule", {"at": "2020-01-01T09:00:00+09:00"})
    assert [d["path"] for d in error_of(past)["details"]] == ["at"]
    naive = api("send").post(f"{url}/schedule", {"at": "2999-01-01T09:00:00"})
    assert naive.status_code == 422
    at = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = api("send").post(f"{url}/schedule", {"at": at})
    assert scheduled.status_code == 202 and scheduled.json()["status"] == "scheduled"
    assert api("read").post(f"{url}/cancel", {}).status_code == 403
    cancelled = api("send").post(f"{url}/cancel", {})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["live"]["status"] == "cancelled"
    again = api("send").post(f"{url}/cancel", {})
    assert again.status_code == 409 and error_of(again)["code"] == "invalid_state"
    log = AuditLog.objects.get(action=AuditAction.CAMPAIGN_CANCELLED)
    assert log.actor_label.startswith("api:test (")


def test_clicks_and_list(api: Callable[..., ApiClient], workspace: Workspace, line: Line) -> None:
    contact = make_contacts(workspace, line, 1)[0]
    campaign_id = _create(api("write")).json()["id"]
    link = create_tracked_link(workspace, "https://shop.example/sale", campaign_id=campaign_id)
    record_click(link, contact=contact)
    record_click(link, contact=contact)
    record_click(link)
    client = api("read")
    clicks = client.get(f"/api/v1/campaigns/{campaign_id}/clicks", {"limit": 2}).json()
    assert [c["contact_id"] for c in clicks["items"]] == [contact.pk, contact.pk]
    assert clicks["items"][0]["url"] == "https://shop.example/sale" and clicks["next_cursor"]
    links = client.get(f"/api/v1/campaigns/{campaign_id}").json()["links"]
    assert [(x["clicks"], x["contacts"]) for x in links] == [(3, 1)]
    assert [c["id"] for c in client.get("/api/v1/campaigns").json()["items"]] == [campaign_id]
    assert client.get("/api/v1/campaigns/999999/clicks").status_code == 404
