"""/api/v1/scenarios: create (errors with paths), templates, activate / pause / archive,
versioned edits, stats and a contact's enrolments."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.utils import timezone

from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.contacts.models import Contact
from otodoke.scenarios.models import Scenario
from otodoke.scenarios.triggers import enrol
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db
BASE = "/api/v1/scenarios"
HELLO = {"type": "send", "messages": [{"type": "text", "text": "ようこそ"}]}
DEFINITION = {"trigger": {"kind": "friend_added"}, "steps": [HELLO]}


def test_create_reports_each_problem_with_its_request_path(api: Callable[..., ApiClient]) -> None:
    client = api("read", "write")
    bad = {"type": "send", "messages": [{"type": "text", "text": "x" * 5001}]}
    response = client.post(
        BASE, {"name": "w", "definition": {"trigger": {"kind": "friend_added"}, "steps": [bad]}}
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_scenario"
    assert error["details"][0]["path"].startswith("definition.steps[0].messages[0].text")
    assert Scenario.objects.count() == 0


def test_lifecycle_and_versioned_edit(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    writer = api("read", "write")
    created = writer.post(BASE, {"name": "ようこそ", "definition": DEFINITION})
    assert created.status_code == 201, created.content
    sid = created.json()["id"]
    assert (created.json()["status"], created.json()["version"]) == ("draft", 1)

    assert writer.post(f"{BASE}/{sid}/activate", {}).status_code == 403  # needs `send`
    sender = api("read", "write", "send")
    active = sender.post(f"{BASE}/{sid}/activate", {})
    assert active.status_code == 200 and active.json()["status"] == "active"

    changed = {**DEFINITION, "steps": [HELLO, HELLO]}
    edited = writer.send("patch", f"{BASE}/{sid}", {"definition": changed})
    assert edited.status_code == 200 and edited.json()["version"] == 2

    assert writer.post(f"{BASE}/{sid}/pause", {}).json()["status"] == "paused"
    assert writer.post(f"{BASE}/{sid}/pause", {}).status_code == 409
    assert writer.post(f"{BASE}/{sid}/archive", {}).json()["status"] == "archived"
    refused = writer.send("patch", f"{BASE}/{sid}", {"name": "x"})
    assert refused.status_code == 409 and error_of(refused)["code"] == "invalid_state"


def test_templates_instantiate_stats_and_enrolments(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    client = api("read", "write", "send")
    keys = [t["key"] for t in client.get(f"{BASE}/templates").json()]
    assert "welcome_on_follow" in keys and len(keys) == 6
    made = client.post(f"{BASE}/templates/welcome_on_follow/instantiate", {})
    assert made.status_code == 201 and made.json()["name"] == "友だち追加あいさつ"
    assert client.post(f"{BASE}/templates/nope/instantiate", {}).status_code == 404
    sid = made.json()["id"]
    client.post(f"{BASE}/{sid}/activate", {})

    contact = Contact.objects.create(
        workspace=workspace, line_user_id="U" + "1" * 32, line_status="following"
    )
    scenario = Scenario.objects.get(pk=sid)
    assert scenario.current_version is not None
    enrol(workspace, scenario.current_version, [contact.pk], now=timezone.now(), source="t")
    stats = client.get(f"{BASE}/{sid}/stats").json()
    assert (stats["entered"], stats["active"], stats["steps"][0]["waiting"]) == (1, 1, 1)
    rows = client.get(f"{BASE}/enrolments", {"contact_id": contact.pk}).json()
    assert [(r["scenario"], r["status"], r["step_index"]) for r in rows] == [(sid, "active", 0)]
    assert client.get(f"{BASE}/enrolments", {"contact_id": 999999}).status_code == 404
    listed = client.get(BASE).json()["items"]
    assert listed[0]["counts"]["active"] == 1
