"""`otodoke campaign list|create|get|test|schedule|send ID|cancel|recipients|clicks`: the REST
API's campaign operations for scripts, with --json, against the LINE emulator over HTTP."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.campaigns.tests.conftest import TEXT, Line, cli, cli_refused, make_contacts, member
from otodoke.tracking.services import create_tracked_link, record_click
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(tmp_path: Path) -> str:
    path = tmp_path / "message.json"
    path.write_text(json.dumps(TEXT), encoding="utf-8")
    return str(path)


def test_create_test_send_then_send_by_id_and_read_results(
    workspace: Workspace, line: Line, message: str
) -> None:
    contacts = make_contacts(workspace, line, 3)
    draft = cli("create", "--name", "春", "--message", message, "--all-friends")
    assert (draft["status"], draft["messages"], draft["live"]) == ("draft", TEXT, None)
    cid = str(draft["id"])
    tested = cli("test", cid, "--contacts", str(contacts[0].pk), "--inline")
    assert (tested["kind"], tested["status"], tested["sent"]) == ("test", "done", 1)
    sent = cli("send", cid, "--inline", "--wait")
    assert sent["status"] == "sent" and sent["live"]["sent"] == 3
    assert line.copies() == {c.line_user_id: 2 if c == contacts[0] else 1 for c in contacts}
    assert AuditLog.objects.get(action=AuditAction.CAMPAIGN_SENT).actor_label == "cli"
    recipients = cli("recipients", cid, "--status", "sent")
    assert sorted(r["contact_id"] for r in recipients["items"]) == [c.pk for c in contacts]
    # The operator sees no LINE user IDs; that takes a login with the permission.
    assert {r["line_user_id"] for r in recipients["items"]} == {None}
    link = create_tracked_link(workspace, "https://shop.example/sale", campaign_id=draft["id"])
    record_click(link, contact=contacts[1])
    clicks = cli("clicks", cid)
    assert [(c["contact_id"], c["url"]) for c in clicks["items"]] == [
        (contacts[1].pk, "https://shop.example/sale")
    ]
    assert [c["id"] for c in cli("list")["items"]] == [draft["id"]]
    assert cli("get", cid)["links"][0]["clicks"] == 1
    # A campaign goes out once.
    assert cli_refused("send", cid)["code"] == "invalid_state"


def test_schedule_then_cancel_and_their_refusals(
    workspace: Workspace, line: Line, message: str
) -> None:
    draft = cli("create", "--name", "夏", "--message", message, "--all-friends")
    cid = str(draft["id"])
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert cli_refused("schedule", cid, "--at", past)["details"][0]["path"] == "at"
    member(workspace, "operator", Role.VIEWER)
    soon = (timezone.now() + timedelta(days=1)).isoformat()
    assert cli_refused("schedule", cid, "--at", soon, "--as", "operator")["code"] == "forbidden"
    scheduled = cli("schedule", cid, "--at", soon)
    assert scheduled["status"] == "scheduled" and scheduled["scheduled_at"]
    cancelled = cli("cancel", cid)
    assert cancelled["status"] == "cancelled"
    assert cli_refused("cancel", cid)["code"] == "invalid_state"
    assert not line.copies()


def test_create_refuses_invalid_messages_and_targets_with_paths(
    workspace: Workspace, tmp_path: Path
) -> None:
    long = tmp_path / "long.json"
    long.write_text(json.dumps([{"type": "text", "text": "x" * 5001}]))
    error = cli_refused("create", "--name", "x", "--message", str(long), "--all-friends")
    assert error["code"] == "invalid_messages" and error["details"][0]["path"] == "messages[0].text"
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(TEXT))
    error = cli_refused("create", "--name", "x", "--message", str(ok), "--segment", "999")
    assert error["code"] == "invalid_target"
    assert error["details"][0]["path"] == "target.include[0].segment"
    assert cli_refused("create", "--name", "x", "--message", str(ok))["code"] == "validation_error"
    assert cli_refused("get", "999")["code"] == "not_found"
    assert cli_refused("test", "999", "--contacts", "1")["code"] == "not_found"
    assert not Campaign.objects.exists()


def test_send_by_id_needs_approval_when_the_workspace_requires_it(
    workspace: Workspace, line: Line, message: str
) -> None:
    workspace.require_approval = True
    workspace.save()
    draft = cli("create", "--name", "秋", "--message", message, "--all-friends")
    assert draft["needs_approval"] is True
    assert cli_refused("send", str(draft["id"]))["code"] == "approval_required"
    assert Campaign.objects.get().status == CampaignStatus.DRAFT


def test_send_from_a_message_file_as_a_login_checks_its_send_permission(
    workspace: Workspace, line: Line, message: str
) -> None:
    make_contacts(workspace, line, 1)
    member(workspace, "viewer", Role.VIEWER)
    args = ["send", "--workspace", "salon", "--all-friends", "--message", message, "--inline"]
    with pytest.raises(CommandError, match="viewer"):
        call_command("campaign", *args, "--as", "viewer", stdout=io.StringIO())
    assert not Campaign.objects.exists()
    member(workspace, "manager", Role.MANAGER)
    call_command("campaign", *args, "--as", "manager", stdout=io.StringIO())
    log = AuditLog.objects.get(action=AuditAction.CAMPAIGN_SENT)
    assert log.actor_label == "manager (cli)"


def test_a_cli_test_send_defaults_to_the_saved_test_recipients(
    workspace: Workspace, line: Line, message: str
) -> None:
    from otodoke.campaigns.models import TestRecipient

    contacts = make_contacts(workspace, line, 3)
    cid = str(cli("create", "--name", "春", "--message", message, "--all-friends")["id"])
    out = io.StringIO()
    with pytest.raises(CommandError, match="--contacts"):  # none saved: nobody is guessed
        call_command("campaign", "test", cid, "--workspace", "salon", stdout=out)
    assert line.copies() == {}
    TestRecipient.objects.create(workspace=workspace, contact=contacts[1])

    tested = cli("test", cid, "--inline")

    assert (tested["status"], tested["sent"]) == ("done", 1)
    assert line.copies() == {contacts[1].line_user_id: 1}
