"""`otodoke scenario …`: the API's operations with the API's JSON, and clear errors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.scenarios.services import set_quiet_hours
from otodoke.scenarios.tests.helpers import texts
from otodoke.scenarios.triggers import on_follow
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def cli(*args: str) -> Any:
    out = io.StringIO()
    call_command("scenario", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_from_a_file_activate_tick_stats_and_enrolments(
    workspace: Workspace, line: Line, tmp_path: Path
) -> None:
    set_quiet_hours(workspace, enabled=False)
    (friend,) = make_contacts(workspace, line, 1)
    spec = {
        "trigger": {"kind": "friend_added"},
        "steps": [{"type": "send", "messages": [{"type": "text", "text": "CLIから"}]}],
    }
    path = tmp_path / "welcome.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")

    created = cli("create", "--workspace", "salon", "--file", str(path), "--name", "歓迎")
    sid = str(created["id"])
    assert created["status"] == "draft"
    assert cli("activate", sid, "--workspace", "salon")["status"] == "active"
    on_follow(workspace, [friend.pk], now=timezone.now(), refollow=False)
    out = io.StringIO()
    call_command("scenario", "tick", "--json", stdout=out)
    assert json.loads(out.getvalue())["sent"] == 1
    assert texts(line.received(friend.line_user_id or "")) == ["CLIから"]

    stats = cli("stats", sid, "--workspace", "salon")
    assert (stats["entered"], stats["completed"], stats["steps"][0]["sent"]) == (1, 1, 1)
    rows = cli("enrolments", "--workspace", "salon", "--contact", str(friend.pk))
    assert [r["status"] for r in rows] == ["completed"]
    assert [s["id"] for s in cli("list", "--workspace", "salon")["items"]] == [int(sid)]


def test_templates_and_errors(workspace: Workspace, tmp_path: Path) -> None:
    keys = [t["key"] for t in cli("templates", "list", "--workspace", "salon")]
    assert len(keys) == 6
    made = cli("templates", "instantiate", "trial_to_subscription", "--workspace", "salon")
    assert made["name"] == "トライアル→定期購入"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"trigger": {"kind": "nope"}, "steps": []}), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "scenario",
            "create",
            "--workspace",
            "salon",
            "--file",
            str(bad),
            "--name",
            "x",
            "--json",
            stdout=out,
        )
    body = json.loads(out.getvalue())
    assert body["error"]["code"] == "invalid_scenario"
    paths = [d["path"] for d in body["error"]["details"]]
    assert "definition.trigger.kind" in paths and "definition.steps" in paths
    assert "definition.trigger.kind" in str(caught.value)
