"""Audiences from a user-ID file (with the error report), a segment snapshot and a pick."""

from __future__ import annotations

import pytest

from otodoke.segments.audiences import (
    create_audience_from_contacts,
    create_audience_from_file,
    create_audience_from_segment,
)
from otodoke.segments.models import Audience, AudienceMember
from otodoke.segments.tests.conftest import NOW, MakeContact, line_id
from otodoke.workspaces.models import Workspace


def test_file_upload_reports_bad_and_unknown_lines(
    make_contact: MakeContact, workspace: Workspace
) -> None:
    a = make_contact(line_user_id=line_id(1))
    b = make_contact(line_user_id=line_id(2))
    data = "\n".join(
        [
            "LINEユーザーID",  # a header: line 1 is not an ID
            line_id(1),
            line_id(0xABC).upper(),  # uppercase hex is not valid
            f'"{line_id(2)}",extra',
            "",
            line_id(99),  # well-formed, but nobody here has it
            line_id(1),
        ]
    ).encode("utf-8-sig")
    report = create_audience_from_file(workspace, name="up", file=data, actor=None)
    assert [(p.line, p.reason) for p in report.problems] == [
        (1, "invalid"),
        (3, "invalid"),
        (6, "unknown"),
        (7, "duplicate"),
    ]
    assert report.matched == 2
    assert report.audience is not None
    assert set(
        AudienceMember.objects.filter(audience=report.audience).values_list("contact_id", flat=True)
    ) == {a.pk, b.pk}
    assert report.audience.size == 2


def test_strict_upload_creates_nothing_on_problems(
    make_contact: MakeContact, workspace: Workspace
) -> None:
    make_contact(line_user_id=line_id(1))
    report = create_audience_from_file(
        workspace, name="up", file=f"{line_id(1)}\nnope\n".encode(), actor=None, strict=True
    )
    assert report.audience is None
    assert not Audience.objects.exists()


def test_segment_snapshot_is_frozen(make_contact: MakeContact, workspace: Workspace) -> None:
    a = make_contact(gender="female")
    make_contact(gender="male")
    definition = {"version": 1, "where": {"kind": "gender", "values": ["female"]}}
    audience = create_audience_from_segment(
        workspace, name="snap", definition=definition, actor=None, now=NOW
    )
    make_contact(gender="female")  # joins the segment, not the snapshot
    assert audience.size == 1
    assert list(audience.members.values_list("contact_id", flat=True)) == [a.pk]


def test_manual_pick_rejects_foreign_contacts(
    make_contact: MakeContact, workspace: Workspace
) -> None:
    a = make_contact()
    with pytest.raises(ValueError, match="1000000000"):
        create_audience_from_contacts(workspace, name="p", contact_ids=[a.pk, 10**9], actor=None)
    assert (
        create_audience_from_contacts(workspace, name="p", contact_ids=[a.pk], actor=None).size == 1
    )
