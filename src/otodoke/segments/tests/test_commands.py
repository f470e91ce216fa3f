"""The CLI: thin commands over the services."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from otodoke.segments import exports
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


def _everyone(tmp_path: Path) -> str:
    path = tmp_path / "everyone.json"
    path.write_text(json.dumps({"version": 1, "where": {"kind": "all", "conditions": []}}))
    return str(path)


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_export_emails_sha256_hashes_normalised_values_within_the_hashed_file_limit(
    make_contact: MakeContact,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CLI builds its own limits: shrink the pre-hashed default to two SHA-256 lines.
    monkeypatch.setattr(exports, "MAX_HASHED_BYTES", 2 * 65)
    make_contact(email=" Hanako@Example.COM ")
    make_contact(email="taro+line@example.com")
    make_contact(email="jiro@example.com", marketing_consent=False)
    make_contact(email="saburo@example.com")
    make_contact(email="shiro@example.com")
    member(workspace, "boss", Role.OWNER)
    out = tmp_path / "out"
    result = json.loads(
        _run(
            "export", "emails", "--workspace", "salon", "--definition", _everyone(tmp_path),
            "--out", str(out), "--as", "boss", "--sha256", "--json",
        )
    )  # fmt: skip
    assert result["hashed"] is True
    assert [Path(f).name for f in result["files"]] == [
        "salon-emails-sha256-001.csv",
        "salon-emails-sha256-002.csv",
    ]
    lines = [line for f in result["files"] for line in Path(f).read_text().splitlines()]
    assert lines == [
        _sha256("hanako@example.com"),
        _sha256("saburo@example.com"),
        _sha256("shiro@example.com"),
    ]
    assert result["skipped"] == {"invalid_characters": 1, "no_consent": 1}
    assert "example.com" not in (out / "salon-emails-sha256-report.csv").read_text()


def test_export_phones_sha256_hashes_domestic_digits(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    make_contact(phone="+819012345678")
    make_contact(phone="+81312345678")
    make_contact(phone="+14155550100")
    make_contact()
    member(workspace, "boss", Role.OWNER)
    out = tmp_path / "out"
    with translation.override("en"):
        text = _run(
            "export", "phones", "--workspace", "salon", "--definition", _everyone(tmp_path),
            "--out", str(out), "--as", "boss", "--sha256",
        )  # fmt: skip
    assert (out / "salon-phones-sha256-001.csv").read_text().splitlines() == [
        _sha256("09012345678"),
        _sha256("0312345678"),
    ]
    assert "2 rows in 1 file(s):" in text
    assert "skipped 1: foreign_number" in text
    assert "skipped 1: no_phone" in text
