"""`otodoke segment list|create|get|update|delete` and `otodoke audience list|get|create
--contacts`: the REST API's operations for scripts, with --json."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otodoke.segments.models import Audience, Segment
from otodoke.segments.tests.conftest import MakeContact, member
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

WOMEN = {"version": 1, "where": {"kind": "gender", "values": ["female"]}}


def run(*args: str) -> Any:
    out = io.StringIO()
    call_command(*args, "--workspace", "salon", "--json", stdout=out)
    return json.loads(out.getvalue())


def refused(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(*args, "--workspace", "salon", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body) == {"error"}, body
    return dict(body["error"])


def test_segment_create_get_update_list_delete(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "women.json"
    path.write_text(json.dumps(WOMEN))
    created = run("segment", "create", "--name", "女性", "--definition", str(path))
    assert created["name"] == "女性" and created["definition"] == WOMEN
    sid = str(created["id"])
    assert run("segment", "get", sid)["definition"] == WOMEN
    # Only what is given changes.
    updated = run("segment", "update", sid, "--description", "30代")
    assert (updated["name"], updated["description"], updated["definition"]) == (
        "女性",
        "30代",
        WOMEN,
    )
    listed = run("segment", "list")
    assert [s["id"] for s in listed["items"]] == [created["id"]] and listed["next_cursor"] is None
    assert run("segment", "delete", sid) == {"deleted": created["id"]}
    assert not Segment.objects.exists()
    assert AuditLog.objects.get(action=AuditAction.SEGMENT_DELETED).actor_label == "cli"


def test_segment_errors_have_paths_and_a_non_zero_exit(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 1, "where": {"kind": "age", "min": 50, "max": 20}}))
    error = refused("segment", "create", "--name", "x", "--definition", str(path))
    assert error["code"] == "invalid_definition"
    assert error["details"][0]["path"].startswith("definition.where")
    assert refused("segment", "get", "999")["code"] == "not_found"
    base = Segment.objects.create(workspace=workspace, name="基本", definition=WOMEN)
    nested = {"version": 1, "where": {"kind": "in_segment", "segment_id": base.pk}}
    Segment.objects.create(workspace=workspace, name="派生", definition=nested)
    in_use = refused("segment", "delete", str(base.pk))
    assert in_use["code"] == "segment_in_use" and in_use["details"][0]["path"] == "segments[0]"
    member(workspace, "viewer", Role.VIEWER)
    denied = refused("segment", "delete", str(base.pk), "--as", "viewer")
    assert denied["code"] == "forbidden"
    assert Segment.objects.count() == 2


def test_audience_from_contact_ids_then_list_and_get(
    workspace: Workspace, make_contact: MakeContact, tmp_path: Path
) -> None:
    a, b = make_contact(), make_contact()
    created = run("audience", "create", "--name", "手動", "--contacts", f"{a.pk},{b.pk}")
    assert (created["source"], created["size"]) == ("manual", 2)
    assert created["audience_id"] == created["id"]
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{a.pk}\n")
    from_file = run("audience", "create", "--name", "一人", "--contacts-file", str(ids))
    assert from_file["size"] == 1
    assert run("audience", "get", str(created["id"]))["name"] == "手動"
    listed = run("audience", "list")
    assert sorted(x["id"] for x in listed["items"]) == sorted([created["id"], from_file["id"]])


def test_audience_create_refuses_unknown_contacts_and_creates_nothing(
    workspace: Workspace, make_contact: MakeContact
) -> None:
    a = make_contact()
    error = refused("audience", "create", "--name", "x", "--contacts", f"{a.pk},999999")
    assert error["code"] == "validation_error" and error["details"][0]["path"] == "contacts"
    assert refused("audience", "get", "999")["code"] == "not_found"
    assert not Audience.objects.exists()
