"""`otodoke campaign send` / `status` from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_send_inline_then_status_as_json(workspace: Workspace, line: Line, tmp_path: Path) -> None:
    contacts = make_contacts(workspace, line, 12)
    message = tmp_path / "message.json"
    message.write_text(json.dumps([{"type": "text", "text": "こんにちは"}]), encoding="utf-8")

    out = io.StringIO()
    call_command(
        "campaign",
        "send",
        "--workspace",
        "salon",
        "--all-friends",
        "--message",
        str(message),
        "--inline",
        "--wait",
        "--json",
        stdout=out,
    )

    sent = json.loads(out.getvalue())
    assert sent["status"] == "sent" and sent["delivery"]["sent"] == 12
    assert line.copies() == {c.line_user_id: 1 for c in contacts}
    out = io.StringIO()
    call_command("campaign", "status", str(sent["campaign"]), "--json", stdout=out)
    assert json.loads(out.getvalue())["delivery"]["progress"] == 100.0


def test_an_invalid_message_file_is_refused_with_lines_limit(
    workspace: Workspace, tmp_path: Path
) -> None:
    message = tmp_path / "message.json"
    message.write_text(json.dumps([{"type": "text", "text": "x" * 5001}]), encoding="utf-8")
    with pytest.raises(Exception, match=r"messages\[0\]\.text: 5,001"):
        call_command(
            "campaign",
            "send",
            "--workspace",
            "salon",
            "--all-friends",
            "--message",
            str(message),
        )
