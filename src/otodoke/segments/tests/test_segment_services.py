"""Saving (validation with paths, nothing saved), cycles, count and preview with masking,
summary, one query."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from otodoke.segments.models import Segment
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import count_segment, preview_segment, save_segment
from otodoke.segments.summary import summarize
from otodoke.segments.tests.conftest import NOW, MakeContact, line_id, member
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def _d(where: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "where": where}


def test_invalid_definition_names_the_path_and_saves_nothing(workspace: Workspace) -> None:
    bad = _d(
        {
            "kind": "all",
            "conditions": [
                {"kind": "gender", "values": ["female"]},
                {"kind": "age", "min": 40, "max": 30},
                {"kind": "not", "condition": {"kind": "prefecture", "values": ["Tokyo"]}},
            ],
        }
    )
    with pytest.raises(DefinitionError) as caught:
        save_segment(workspace, name="bad", definition=bad, actor=None)
    paths = {p.path: p.message for p in caught.value.problems}
    assert paths["$.where.conditions[1]"] == "min is greater than max"
    assert "not a prefecture" in paths["$.where.conditions[2].condition.values"]
    assert not Segment.objects.exists()


def test_missing_version_and_unknown_kind(workspace: Workspace) -> None:
    with pytest.raises(DefinitionError) as caught:
        save_segment(workspace, name="x", definition={"where": {"kind": "shoe_size"}}, actor=None)
    assert {p.path for p in caught.value.problems} == {"$.version", "$.where"}


def test_segment_reference_cycles_are_rejected(workspace: Workspace) -> None:
    a = save_segment(workspace, name="A", definition=_d({"kind": "consent"}), actor=None)
    b = save_segment(
        workspace, name="B", definition=_d({"kind": "in_segment", "segment_id": a.pk}), actor=None
    )
    cyclic = _d({"kind": "any", "conditions": [{"kind": "in_segment", "segment_id": b.pk}]})
    with pytest.raises(DefinitionError) as caught:
        save_segment(workspace, name="A", definition=cyclic, actor=None, segment=a)
    assert "cycle" in str(caught.value)
    a.refresh_from_db()
    assert a.definition == _d({"kind": "consent", "value": True})
    with pytest.raises(DefinitionError, match="cycle"):
        save_segment(
            workspace,
            name="self",
            definition=_d({"kind": "in_segment", "segment_id": b.pk}),
            actor=None,
            segment=b,
        )


def test_missing_references_are_reported(workspace: Workspace) -> None:
    with pytest.raises(DefinitionError) as caught:
        save_segment(
            workspace,
            name="x",
            definition=_d(
                {
                    "kind": "all",
                    "conditions": [
                        {"kind": "in_audience", "audience_id": 999},
                        {"kind": "clicked", "link_id": 999},
                    ],
                }
            ),
            actor=None,
        )
    assert [p.path for p in caught.value.problems] == [
        "$.where.conditions[0].audience_id",
        "$.where.conditions[1].link_id",
    ]


def test_saving_needs_the_edit_permission(workspace: Workspace) -> None:
    viewer = member(workspace, "viewer", Role.VIEWER)
    with pytest.raises(PermissionDenied):
        save_segment(workspace, name="x", definition=_d({"kind": "consent"}), actor=viewer)
    operator = member(workspace, "op", Role.OPERATOR)
    saved = save_segment(workspace, name="x", definition=_d({"kind": "consent"}), actor=operator)
    assert saved.created_by == operator


def test_count_and_reachable_in_one_query(make_contact: MakeContact, workspace: Workspace) -> None:
    make_contact(line_user_id=line_id(1), line_status="following")
    make_contact(line_user_id=line_id(2), line_status="following", marketing_consent=False)
    make_contact(line_user_id=line_id(3), line_status="blocked")
    make_contact()
    definition = _d(
        {
            "kind": "all",
            "conditions": [
                {"kind": "tags", "match": "none", "names": ["x"]},
                {"kind": "event", "event": "purchase", "op": "at_most", "value": 3},
                {"kind": "age", "max": 150},
            ],
        }
    )
    with CaptureQueriesContext(connection) as queries:
        result = count_segment(workspace, _d({"kind": "all", "conditions": []}), now=NOW)
        count_segment(workspace, definition, now=NOW)
    assert (result.total, result.reachable) == (4, 1)
    assert len(queries) == 2


def test_preview_masks_pii_without_the_permission(
    make_contact: MakeContact, workspace: Workspace
) -> None:
    make_contact(
        line_user_id=line_id(0xABC),
        line_status="following",
        email="hanako@example.com",
        phone="+819012345678",
    )
    operator = member(workspace, "op", Role.OPERATOR)
    manager = member(workspace, "mgr", Role.MANAGER)
    everyone = _d({"kind": "all", "conditions": []})
    masked = preview_segment(workspace, everyone, viewer=operator, now=NOW).rows[0]
    assert masked.line_user_id == "U00…bc"
    assert masked.email == "h***@example.com"
    assert masked.phone == "*********5678"
    assert masked.reachable
    shown = preview_segment(workspace, everyone, viewer=manager, now=NOW)
    assert shown.pii_visible
    assert shown.rows[0].line_user_id == line_id(0xABC)
    assert shown.rows[0].email == "hanako@example.com"


def test_summary_in_english_and_japanese_catalogue_keys() -> None:
    definition = _d(
        {
            "kind": "all",
            "conditions": [
                {"kind": "age", "min": 30, "max": 39},
                {"kind": "last_visit", "op": "before", "days_ago": 60},
                {
                    "kind": "not",
                    "condition": {"kind": "tags", "match": "any", "names": ["休眠"]},
                },
            ],
        }
    )
    with translation.override("en"):
        text = summarize(definition)
    assert text == (
        "Age 30–39 years and Last visit more than 60 days ago and not Has any of the tags 休眠"
    )


def test_saved_definition_is_normalised(workspace: Workspace) -> None:
    saved = save_segment(
        workspace,
        name="n",
        definition=_d({"kind": "last_visit", "op": "before", "date": "2024-01-01"}),
        actor=None,
    )
    assert saved.definition["where"]["date"] == "2024-01-01"
    assert saved.schema_version == 1


def test_summary_in_japanese() -> None:
    definition = _d(
        {
            "kind": "all",
            "conditions": [
                {"kind": "age", "min": 30, "max": 39},
                {"kind": "last_visit", "op": "before", "days_ago": 60},
            ],
        }
    )
    with translation.override("ja"):
        text = summarize(definition)
    assert text.startswith("年齢 30〜39歳 かつ ")
    assert text.endswith("最終来店日が60日より前")
