"""The demo starts with the birthday and 60-day scenarios active (issue 13.9), also on a demo
database made before scenarios existed, and with its auto-replies (issue 16.2): a follow is
greeted once, by the welcome auto-reply, so the welcome scenario is not active beside it."""

from __future__ import annotations

import pytest

from otodoke.autoreplies.models import Rule, RuleKind
from otodoke.core.demo import DEMO_SCENARIOS, ensure_scenarios
from otodoke.scenarios import presets
from otodoke.scenarios.models import Scenario, ScenarioStatus
from otodoke.scenarios.services import activate_scenario
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

pytestmark = pytest.mark.django_db


def make_workspace() -> Workspace:
    return create_workspace(
        name="Demo", slug="demo", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9",
    )  # fmt: skip


def test_the_demo_scenarios_and_auto_replies_are_made_once() -> None:
    workspace = make_workspace()

    assert ensure_scenarios(workspace) == []

    found = {s.template: s for s in Scenario.objects.filter(workspace=workspace)}
    assert set(found) == set(DEMO_SCENARIOS)
    assert {s.name for s in found.values()} == {"誕生月クーポン", "再来店促進"}
    assert all(s.status == ScenarioStatus.ACTIVE for s in found.values())
    rules = list(Rule.objects.filter(workspace=workspace).in_order())
    assert [r.name for r in rules if r.kind == RuleKind.KEYWORD] == ["予約", "営業時間", "クーポン"]
    (welcome,) = [r for r in rules if r.kind == RuleKind.WELCOME]
    assert welcome.enabled and welcome.invite_unlinked

    # A second start changes nothing, even after the staff paused or edited something.
    Scenario.objects.filter(template="come_back_after_60_days").update(status="paused")
    Rule.objects.filter(name="予約").update(enabled=False)
    ensure_scenarios(workspace)
    assert Scenario.objects.filter(workspace=workspace).count() == 2
    assert Scenario.objects.get(template="come_back_after_60_days").status == "paused"
    assert Rule.objects.filter(workspace=workspace).count() == len(rules)
    assert Rule.objects.get(name="予約").enabled is False


def test_an_older_demo_with_the_welcome_scenario_greets_once() -> None:
    workspace = make_workspace()
    old = presets.instantiate(workspace, "welcome_on_follow")
    activate_scenario(old)

    ensure_scenarios(workspace)

    old.refresh_from_db()
    assert old.status == ScenarioStatus.PAUSED
    assert Rule.objects.filter(workspace=workspace, kind=RuleKind.WELCOME, enabled=True).exists()
    # Turned back on by the staff, it stays on: the pause happens once, with the welcome rule.
    activate_scenario(old)
    ensure_scenarios(workspace)
    old.refresh_from_db()
    assert old.status == ScenarioStatus.ACTIVE
