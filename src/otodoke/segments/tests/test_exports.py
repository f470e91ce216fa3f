"""Exports: permission, audit (counts, never values), LINE's file rules, splitting, hashing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied

from otodoke.segments import exports
from otodoke.segments.audiences import create_audience_from_contacts
from otodoke.segments.exports import ExportKind, ExportLimits, ExportSource, export_contacts
from otodoke.segments.tests.conftest import MakeContact, line_id, member
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

EVERYONE = ExportSource(definition={"version": 1, "where": {"kind": "all", "conditions": []}})


def test_export_needs_the_permission_and_writes_nothing(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    make_contact(line_user_id=line_id(1))
    operator = member(workspace, "op", Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        export_contacts(
            workspace, ExportKind.LINE_IDS, source=EVERYONE, actor=operator, out_dir=tmp_path
        )
    assert list(tmp_path.iterdir()) == []
    assert not AuditLog.objects.filter(action=AuditAction.EXPORTED).exists()


def test_line_id_export_is_headerless_and_audited_with_counts(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    make_contact(line_user_id=line_id(1))
    make_contact(line_user_id=line_id(2), marketing_consent=False)
    make_contact()
    owner = member(workspace, "boss", Role.OWNER)
    result = export_contacts(
        workspace, ExportKind.LINE_IDS, source=EVERYONE, actor=owner, out_dir=tmp_path
    )
    assert [p.read_text() for p in result.files] == [line_id(1) + "\n"]
    assert dict(result.skipped) == {"no_consent": 1, "no_line_user_id": 1}
    entry = AuditLog.objects.get(action=AuditAction.EXPORTED)
    assert entry.actor == owner
    assert entry.details["rows"] == 1
    assert line_id(1) not in str(entry.details)
    assert result.report is not None
    assert line_id(2) not in result.report.read_text()


def test_email_rules_are_reported_not_dropped(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    ok = make_contact(email="  Hanako.Y_1-a@Example.COM ")
    plus = make_contact(email="taro+line@example.com")
    long = make_contact(email="a" * 110 + "@example.com")
    make_contact(email="hanako.y_1-a@example.com")  # duplicate after normalising
    make_contact(email="")
    owner = member(workspace, "boss", Role.OWNER)
    result = export_contacts(
        workspace, ExportKind.EMAILS, source=EVERYONE, actor=owner, out_dir=tmp_path
    )
    assert result.files[0].read_text() == "hanako.y_1-a@example.com\n"
    assert dict(result.skipped) == {
        "invalid_characters": 1,
        "too_long": 1,
        "duplicate": 1,
        "no_email": 1,
    }
    assert result.report is not None
    report = result.report.read_text()
    assert f"{plus.pk},{plus.external_id},invalid_characters" in report
    assert f"{long.pk},{long.external_id},too_long" in report
    assert f"\n{ok.pk}," not in report


def test_phones_are_domestic_digits_and_hashed_after_normalising(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    make_contact(phone="+819012345678")
    make_contact(phone="+14155550100")
    owner = member(workspace, "boss", Role.OWNER)
    raw = export_contacts(
        workspace, ExportKind.PHONES, source=EVERYONE, actor=owner, out_dir=tmp_path / "raw"
    )
    assert raw.files[0].read_text() == "09012345678\n"
    assert dict(raw.skipped) == {"foreign_number": 1}
    hashed = export_contacts(
        workspace,
        ExportKind.PHONES,
        source=EVERYONE,
        actor=owner,
        out_dir=tmp_path / "hashed",
        hashed=True,
    )
    assert hashed.files[0].read_text() == hashlib.sha256(b"09012345678").hexdigest() + "\n"
    assert hashed.files[0].name.endswith("-sha256-001.csv")


def test_files_split_at_row_and_byte_limits(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    for n in range(5):
        make_contact(email=f"user{n}@example.com")  # 18 bytes a line with the newline
    owner = member(workspace, "boss", Role.OWNER)
    by_rows = export_contacts(
        workspace,
        ExportKind.EMAILS,
        source=EVERYONE,
        actor=owner,
        out_dir=tmp_path / "rows",
        limits=ExportLimits(max_rows=2, max_bytes=None),
    )
    assert [len(p.read_text().splitlines()) for p in by_rows.files] == [2, 2, 1]
    by_bytes = export_contacts(
        workspace,
        ExportKind.EMAILS,
        source=EVERYONE,
        actor=owner,
        out_dir=tmp_path / "bytes",
        limits=ExportLimits(max_rows=100, max_bytes=40),
    )
    assert [p.stat().st_size for p in by_bytes.files] == [36, 36, 18]
    assert by_bytes.rows == 5


def test_export_from_an_audience(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    a = make_contact(line_user_id=line_id(1))
    make_contact(line_user_id=line_id(2))
    audience = create_audience_from_contacts(workspace, name="a", contact_ids=[a.pk], actor=None)
    owner = member(workspace, "boss", Role.OWNER)
    result = export_contacts(
        workspace,
        ExportKind.LINE_IDS,
        source=ExportSource(audience=audience),
        actor=owner,
        out_dir=tmp_path,
    )
    assert result.files[0].read_text() == line_id(1) + "\n"


def test_email_limit_is_120_characters_counted_after_trimming(
    make_contact: MakeContact, workspace: Workspace, tmp_path: Path
) -> None:
    at_limit = "a" * 108 + "@example.com"
    over = "b" * 109 + "@example.com"
    padded = "  " + "c" * 108 + "@EXAMPLE.com "
    assert (len(at_limit), len(over), len(padded.strip())) == (120, 121, 120)
    make_contact(email=at_limit)
    too_long = make_contact(email=over)
    make_contact(email=padded)
    owner = member(workspace, "boss", Role.OWNER)
    result = export_contacts(
        workspace, ExportKind.EMAILS, source=EVERYONE, actor=owner, out_dir=tmp_path
    )
    assert result.files[0].read_text().splitlines() == [at_limit, padded.strip().lower()]
    assert dict(result.skipped) == {"too_long": 1}
    assert result.report is not None
    assert f"{too_long.pk},{too_long.external_id},too_long" in result.report.read_text()


def test_default_limits_are_lines_file_rules() -> None:
    # LINE_PLATFORM.md §13: ≤1.5 million rows and ≤20 MB a raw file, ≤60 MB a pre-hashed one,
    # e-mails ≤120 characters.
    assert (exports.MAX_ROWS, exports.MAX_RAW_BYTES, exports.MAX_HASHED_BYTES) == (
        1_500_000,
        20_000_000,
        60_000_000,
    )
    assert exports.MAX_EMAIL_LENGTH == 120
    assert (
        ExportLimits()
        == ExportLimits.for_upload(hashed=False)
        == ExportLimits(1_500_000, 20_000_000)
    )
    assert ExportLimits.for_upload(hashed=True) == ExportLimits(1_500_000, 60_000_000)


def test_an_export_without_limits_splits_at_the_raw_or_the_hashed_default(
    make_contact: MakeContact,
    workspace: Workspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The real limits need millions of rows; shrunk, they show which default each file gets.
    monkeypatch.setattr(exports, "MAX_RAW_BYTES", 40)  # two 18-byte lines
    monkeypatch.setattr(exports, "MAX_HASHED_BYTES", 3 * 65)  # three SHA-256 lines
    for n in range(5):
        make_contact(email=f"user{n}@example.com")
    owner = member(workspace, "boss", Role.OWNER)
    raw = export_contacts(
        workspace, ExportKind.EMAILS, source=EVERYONE, actor=owner, out_dir=tmp_path / "raw"
    )
    assert [p.stat().st_size for p in raw.files] == [36, 36, 18]
    hashed = export_contacts(
        workspace,
        ExportKind.EMAILS,
        source=EVERYONE,
        actor=owner,
        out_dir=tmp_path / "hashed",
        hashed=True,
    )
    assert [p.stat().st_size for p in hashed.files] == [195, 130]
    monkeypatch.setattr(exports, "MAX_ROWS", 4)
    monkeypatch.setattr(exports, "MAX_RAW_BYTES", 10_000)
    by_rows = export_contacts(
        workspace, ExportKind.EMAILS, source=EVERYONE, actor=owner, out_dir=tmp_path / "rows"
    )
    assert [len(p.read_text().splitlines()) for p in by_rows.files] == [4, 1]
