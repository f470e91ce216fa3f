"""The demo starts with the birthday and 60-day scenarios active and the welcome scenario on
(issue 13.9), also on a demo database made before scenarios existed; following the demo
account gets the greeting, quiet hours or not."""

from __future__ import annotations

import pytest

from otodoke.core.demo import DEMO_SCENARIOS, ensure_scenarios
from otodoke.scenarios.models import Scenario, ScenarioStatus
from otodoke.workspaces.services import create_workspace

pytestmark = pytest.mark.django_db


def test_the_demo_scenarios_are_active_once_and_the_welcome_ignores_quiet_hours() -> None:
    workspace = create_workspace(
        name="Demo", slug="demo", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9",
    )  # fmt: skip

    assert ensure_scenarios(workspace) == []

    found = {s.template: s for s in Scenario.objects.filter(workspace=workspace)}
    assert set(found) == set(DEMO_SCENARIOS)
    assert {s.name for s in found.values()} == {
        "誕生月クーポン",
        "再来店促進",
        "友だち追加あいさつ",
    }
    assert all(s.status == ScenarioStatus.ACTIVE for s in found.values())
    assert found["welcome_on_follow"].current_version.trigger["kind"] == "friend_added"  # type: ignore[union-attr]
    welcome = found["welcome_on_follow"].current_version
    assert welcome is not None and welcome.steps[0]["quiet_hours"] is False

    # A second start changes nothing, even after the staff paused one.
    Scenario.objects.filter(template="come_back_after_60_days").update(status="paused")
    ensure_scenarios(workspace)
    assert Scenario.objects.filter(workspace=workspace).count() == 3
    assert Scenario.objects.get(template="come_back_after_60_days").status == "paused"
