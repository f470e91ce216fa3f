"""`otodoke contact|event|tag …`: the REST API's operations for scripts, with --json."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from otodoke.contacts.models import Contact, Event
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role


def run(*args: str) -> Any:
    out = io.StringIO()
    call_command(*args, "--workspace", "salon", "--json", stdout=out)
    return json.loads(out.getvalue())


def refused(*args: str) -> dict[str, Any]:
    """The JSON error body a failing command prints, after checking it exits with an error."""
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(*args, "--workspace", "salon", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    return dict(body["error"])


def test_contact_upsert_get_and_search_print_the_apis_json(workspace: Workspace) -> None:
    created = run(
        "contact", "upsert", "C1", "--set", "name=山田花子", "--set", "phone=090-1234-5678",
        "--set", "marketing_consent=true", "--tag", "vip",
    )  # fmt: skip
    assert created["external_id"] == "C1" and created["name"] == "山田花子"
    assert created["tags"] == ["vip"] and created["marketing_consent"] is True
    # The operator does not see personal data; a login with the permission does.
    assert created["phone"] is None
    manager = User.objects.create_user("manager")
    set_member_role(workspace, manager, Role.MANAGER, actor=None)
    shown = run("contact", "get", "--external-id", "C1", "--as", "manager")
    assert shown["phone"] == "+819012345678"
    assert run("contact", "get", str(created["id"]))["id"] == created["id"]
    found = run("contact", "search", "--q", "山田")
    assert [c["id"] for c in found["items"]] == [created["id"]] and found["next_cursor"] is None


def test_contact_errors_are_the_apis_json_with_a_non_zero_exit(workspace: Workspace) -> None:
    assert refused("contact", "get", "999")["code"] == "not_found"
    error = refused("contact", "upsert", "C1", "--set", "phone=12")
    assert error["code"] == "validation_error" and error["details"][0]["path"] == "phone"
    # Filtering by personal data reveals it: it needs a login who may see it.
    assert refused("contact", "search", "--email", "a@example.jp")["code"] == "forbidden"
    viewer = User.objects.create_user("viewer")
    set_member_role(workspace, viewer, Role.VIEWER, actor=None)
    assert refused("contact", "upsert", "C2", "--as", "viewer")["code"] == "forbidden"
    assert not Contact.objects.exists()


def test_contact_bulk_reads_jsonl_in_batches_with_paths_into_the_whole_file(
    workspace: Workspace, tmp_path: Path
) -> None:
    rows = [{"external_id": f"C{i}", "name": f"客{i}"} for i in range(1002)]
    rows[1001]["phone"] = "12"  # an item that cannot be stored, in the second batch
    path = tmp_path / "contacts.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    result = run("contact", "bulk", "--file", str(path))
    assert (result["created"], result["failed"]) == (1001, 1)
    bad = result["results"][1001]
    assert bad["index"] == 1001 and bad["errors"][0]["path"] == "contacts[1001].phone"
    assert Contact.objects.count() == 1001


def test_contact_bulk_with_a_malformed_item_changes_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.json"
    path.write_text(json.dumps({"contacts": [{"external_id": "C1"}, {"name": 5}]}))
    error = refused("contact", "bulk", "--file", str(path))
    assert error["code"] == "validation_error"
    assert error["details"][0]["path"] == "contacts[1].name"
    assert not Contact.objects.exists()


def test_event_bulk_is_idempotent_and_reports_bad_items(
    workspace: Workspace, tmp_path: Path
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1")
    events = [
        {"external_id": "E1", "contact_external_id": "C1", "kind": "purchase",
         "occurred_at": "2026-01-02T10:00:00+09:00", "amount": 3000},
        {"external_id": "E2", "contact_external_id": "NOPE", "kind": "visit",
         "occurred_at": "2026-01-02T10:00:00+09:00"},
    ]  # fmt: skip
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    first = run("event", "bulk", "--file", str(path))
    assert (first["created"], first["failed"]) == (1, 1)
    assert first["results"][1]["errors"][0]["path"] == "events[1].contact_external_id"
    again = run("event", "bulk", "--file", str(path))
    assert (again["created"], again["unchanged"]) == (0, 1)
    assert Event.objects.count() == 1
    assert Contact.objects.get().total_spent == 3000
    path.write_text(json.dumps([{"kind": "visit"}]))
    error = refused("event", "bulk", "--file", str(path))
    assert error["code"] == "validation_error"
    assert {d["path"] for d in error["details"]} >= {"events[0].occurred_at"}


def test_tag_add_remove_and_list(workspace: Workspace) -> None:
    a = Contact.objects.create(workspace=workspace, external_id="C1")
    b = Contact.objects.create(workspace=workspace, external_id="C2")
    added = run("tag", "add", "--tags", "vip,spring", "--contacts", f"{a.pk}",
                "--external-ids", "C2,NOPE")  # fmt: skip
    assert (added["pairs"], added["contacts"]) == (4, 2)
    assert [e["path"] for e in added["errors"]] == ["external_ids[1]"]
    listed = run("tag", "list")
    assert {t["name"]: t["contacts"] for t in listed["items"]} == {"vip": 2, "spring": 2}
    removed = run("tag", "remove", "--tags", "vip", "--contacts", f"{b.pk}")
    assert removed["pairs"] == 1
    assert {t["name"]: t["contacts"] for t in run("tag", "list")["items"]}["vip"] == 1
    assert refused("tag", "add", "--tags", "vip")["code"] == "validation_error"
