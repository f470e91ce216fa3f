"""Editing a scenario: a draft changes in place; an active one publishes a new version and
the contacts already inside finish on the version they entered with."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.scenarios.models import Enrolment, ScenarioVersion
from otodoke.scenarios.scheduler import tick
from otodoke.scenarios.services import (
    ScenarioError,
    activate_scenario,
    archive_scenario,
    create_scenario,
    pause_scenario,
    scenario_stats,
    update_scenario,
)
from otodoke.scenarios.tests.helpers import NOON, active, text, texts, wait
from otodoke.scenarios.triggers import enrol
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
DAY = dt.timedelta(days=1)


def steps(first: str, second: str) -> list[dict[str, Any]]:
    return [text(first), wait(days=1), text(second)]


def spec(first: str, second: str) -> dict[str, Any]:
    return {"trigger": {"kind": "friend_added"}, "steps": steps(first, second)}


def test_contacts_inside_finish_on_their_version_and_new_ones_get_the_new(
    workspace: Workspace, line: Line
) -> None:
    early, late = make_contacts(workspace, line, 2)
    scenario, v1 = active(workspace, steps("v1-A", "v1-B"))
    enrol(workspace, v1, [early.pk], now=NOON, source="test")
    tick(now=NOON)

    update_scenario(scenario, spec=spec("v2-A", "v2-B"))
    scenario.refresh_from_db()
    v2 = scenario.current_version
    assert v2 is not None and v2.number == 2 and v2.published_at is not None
    enrol(workspace, v2, [late.pk], now=NOON + dt.timedelta(hours=1), source="test")
    tick(now=NOON + dt.timedelta(hours=1))
    tick(now=NOON + 2 * DAY)

    assert texts(line.received(early.line_user_id or "")) == ["v1-A", "v1-B"]
    assert texts(line.received(late.line_user_id or "")) == ["v2-A", "v2-B"]
    assert dict(Enrolment.objects.values_list("contact_id", "version__number")) == {
        early.pk: 1,
        late.pk: 2,
    }


def test_a_draft_is_edited_in_place(workspace: Workspace) -> None:
    scenario = create_scenario(workspace, name="下書き", spec=spec("a", "b"))
    update_scenario(scenario, spec=spec("c", "d"), name="下書き2")
    assert ScenarioVersion.objects.filter(scenario=scenario).count() == 1
    scenario.refresh_from_db()
    assert scenario.name == "下書き2"
    assert scenario.current_version is not None
    assert scenario.current_version.steps[0]["messages"][0]["text"] == "c"


def test_activation_names_each_problem(workspace: Workspace) -> None:
    data = {
        "trigger": {"kind": "friend_added"},
        "conditions": {"version": 1, "where": {"kind": "in_segment", "segment_id": 999}},
        "steps": [text("ok")],
    }
    scenario = create_scenario(workspace, name="x", spec=data)
    with pytest.raises(ScenarioError) as caught:
        activate_scenario(scenario)
    assert [p.path for p in caught.value.problems] == ["$.conditions.where.segment_id"]
    scenario.refresh_from_db()
    assert scenario.status == "draft"


def test_pause_keeps_contacts_in_place_and_archive_exits_them(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    scenario, version = active(workspace, [text("A"), wait(days=1), text("B")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON)
    pause_scenario(scenario)
    tick(now=NOON + 2 * DAY)
    assert texts(line.received(c.line_user_id or "")) == ["A"]
    activate_scenario(scenario)
    tick(now=NOON + 2 * DAY)
    assert texts(line.received(c.line_user_id or "")) == ["A", "B"]

    (other,) = make_contacts(workspace, line, 1)
    enrol(workspace, version, [other.pk], now=NOON + 3 * DAY, source="test")
    archive_scenario(scenario)
    stats = scenario_stats(scenario)
    assert (stats["entered"], stats["completed"], stats["exited"]) == (2, 1, 1)
    assert stats["exit_reasons"] == {"archived": 1}
    assert stats["steps"][0]["sent"] == 1
