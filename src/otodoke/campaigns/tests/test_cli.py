"""`otodoke campaign send` / `status` from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.models import Contact
from otodoke.segments.services import save_segment
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


def test_send_to_a_saved_segment_reports_the_counts_as_json(
    workspace: Workspace, line: Line, tmp_path: Path
) -> None:
    members = make_contacts(workspace, line, 4)
    no_consent = make_contacts(workspace, line, 1, consent=False)
    make_contacts(workspace, line, 3)  # outside the segment
    Contact.objects.filter(pk__in=[c.pk for c in members + no_consent]).update(
        attributes={"コース": "年間契約"}
    )
    segment = save_segment(
        workspace,
        name="年間契約",
        definition={
            "version": 1,
            "where": {"kind": "attribute", "key": "コース", "op": "equals", "value": "年間契約"},
        },
        actor=None,
    )
    message = tmp_path / "message.json"
    message.write_text(json.dumps([{"type": "text", "text": "年間契約の方へ"}]), encoding="utf-8")

    out = io.StringIO()
    call_command(
        "campaign",
        "send",
        "--workspace",
        "salon",
        "--segment",
        str(segment.pk),
        "--message",
        str(message),
        "--inline",
        "--wait",
        "--json",
        stdout=out,
    )

    sent = json.loads(out.getvalue())
    assert sent["status"] == "sent"
    counts = {k: sent["delivery"][k] for k in ("status", "total", "excluded", "sent", "failed")}
    assert counts == {"status": "done", "total": 5, "excluded": 1, "sent": 4, "failed": 0}
    assert sent["delivery"]["method"] == "multicast" and sent["delivery"]["progress"] == 100.0
    assert line.copies() == {c.line_user_id: 1 for c in members}
