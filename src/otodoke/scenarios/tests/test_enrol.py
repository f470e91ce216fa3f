"""Entering a scenario: conditions, reachability and the three entry rules, set-based."""

from __future__ import annotations

import datetime as dt

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.models import Contact, LineStatus
from otodoke.scenarios.models import Enrolment, EnrolmentStatus, Scenario, ScenarioVersion
from otodoke.scenarios.services import activate_scenario, create_scenario
from otodoke.scenarios.triggers import enrol
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime(2026, 4, 1, 3, 0, tzinfo=dt.UTC)
HELLO = {"type": "send", "messages": [{"type": "text", "text": "こんにちは"}]}


def _scenario(workspace: Workspace, **spec: object) -> tuple[Scenario, ScenarioVersion]:
    data: dict[str, object] = {
        "trigger": {"kind": "event", "params": {"event": "purchase"}},
        "steps": [HELLO],
    }
    data.update(spec)
    scenario = create_scenario(workspace, name="s", spec=data)
    activate_scenario(scenario)
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    return scenario, scenario.current_version


def test_conditions_and_reachability_decide_who_enters(workspace: Workspace, line: Line) -> None:
    vip, plain, blocked, no_consent = make_contacts(workspace, line, 4)
    Contact.objects.filter(pk=vip.pk).update(total_spent=50000)
    Contact.objects.filter(pk=blocked.pk).update(total_spent=50000, line_status=LineStatus.BLOCKED)
    Contact.objects.filter(pk=no_consent.pk).update(total_spent=50000, marketing_consent=False)
    rich = {"version": 1, "where": {"kind": "total_spent", "min": 30000}}
    _, version = _scenario(workspace, conditions=rich)
    ids = [vip.pk, plain.pk, blocked.pk, no_consent.pk]
    assert enrol(workspace, version, ids, now=NOW, source="test") == 1
    assert list(Enrolment.objects.values_list("contact_id", flat=True)) == [vip.pk]


def test_once_never_lets_a_contact_in_twice(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = _scenario(workspace, entry_rule="once")
    assert enrol(workspace, version, [c.pk], now=NOW, source="t") == 1
    assert enrol(workspace, version, [c.pk], now=NOW, source="t") == 0  # inside already
    Enrolment.objects.update(status=EnrolmentStatus.COMPLETED)
    assert enrol(workspace, version, [c.pk], now=NOW + dt.timedelta(days=400), source="t") == 0


def test_after_days_lets_a_contact_in_again_after_the_gap(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = _scenario(workspace, entry_rule="after_days", reentry_days=30)
    assert enrol(workspace, version, [c.pk], now=NOW, source="t") == 1
    Enrolment.objects.update(status=EnrolmentStatus.COMPLETED)
    assert enrol(workspace, version, [c.pk], now=NOW + dt.timedelta(days=29), source="t") == 0
    assert enrol(workspace, version, [c.pk], now=NOW + dt.timedelta(days=30), source="t") == 1
    assert sorted(Enrolment.objects.values_list("run", flat=True)) == [1, 2]


def test_every_lets_a_contact_in_whenever_they_are_not_inside(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = _scenario(workspace, entry_rule="every")
    assert enrol(workspace, version, [c.pk], now=NOW, source="t") == 1
    assert enrol(workspace, version, [c.pk], now=NOW, source="t") == 0
    Enrolment.objects.update(status=EnrolmentStatus.EXITED)
    assert enrol(workspace, version, [c.pk], now=NOW + dt.timedelta(minutes=1), source="t") == 1


def test_a_paused_scenario_takes_nobody(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    scenario, version = _scenario(workspace)
    scenario.status = "paused"
    scenario.save()
    assert enrol(workspace, version, [c.pk], now=NOW, source="t") == 0
