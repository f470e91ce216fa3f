"""The CLI: thin commands over the services."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otodoke.segments.tests.conftest import MakeContact, line_id, member
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_segment_count_json(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    make_contact(gender="female", line_user_id=line_id(1), line_status="following")
    make_contact(gender="male")
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"version": 1, "where": {"kind": "gender", "values": ["female"]}}))
    data = json.loads(
        _run("segment", "count", "--workspace", "salon", "--definition", str(path), "--json")
    )
    assert (data["total"], data["reachable"]) == (1, 1)


def test_segment_count_reports_invalid_paths(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"version": 1, "where": {"kind": "age", "min": -1}}))
    with pytest.raises(CommandError, match=r"\$\.where\.min"):
        _run("segment", "count", "--workspace", "salon", "--definition", str(path))


def test_export_and_audience_commands(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    make_contact(line_user_id=line_id(1))
    member(workspace, "boss", Role.OWNER)
    member(workspace, "op", Role.OPERATOR)
    ids = tmp_path / "ids.txt"
    ids.write_text(line_id(1) + "\nbad\n")
    created = json.loads(
        _run(
            "audience",
            "create",
            "--workspace",
            "salon",
            "--name",
            "a",
            "--from-file",
            str(ids),
            "--json",
        )
    )
    assert created["problems"][0]["line"] == 2
    args = ["export", "line-ids", "--workspace", "salon", "--audience", str(created["audience_id"])]
    with pytest.raises(CommandError, match="export"):
        _run(*args, "--out", str(tmp_path / "x"), "--as", "op")
    result = json.loads(_run(*args, "--out", str(tmp_path / "out"), "--as", "boss", "--json"))
    assert result["rows"] == 1


def test_published_json_schema_is_current() -> None:
    from otodoke.segments.schema import json_schema

    published = Path(__file__).resolve().parents[4] / "docs" / "segment-schema.v1.json"
    assert json.loads(published.read_text(encoding="utf-8")) == json_schema(), (
        "regenerate with: otodoke segment schema --out docs/segment-schema.v1.json"
    )
