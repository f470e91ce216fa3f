"""Every template is a valid scenario; the welcome template runs its three steps."""

from __future__ import annotations

import datetime as dt

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.scenarios.presets import PRESETS, Preset, instantiate
from otodoke.scenarios.scheduler import tick
from otodoke.scenarios.schema import parse_spec
from otodoke.scenarios.services import activate_scenario
from otodoke.scenarios.tests.helpers import NOON, texts
from otodoke.scenarios.triggers import on_follow
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.key)
def test_every_template_is_a_valid_definition(preset: Preset) -> None:
    parse_spec(preset.spec)


def test_the_welcome_template_greets_introduces_and_invites_to_link(
    workspace: Workspace, line: Line
) -> None:
    (friend,) = make_contacts(workspace, line, 1)
    scenario = instantiate(workspace, "welcome_on_follow")
    assert scenario.name == "友だち追加あいさつ" and scenario.status == "draft"
    activate_scenario(scenario)

    on_follow(workspace, [friend.pk], now=NOON, refollow=False)
    tick(now=NOON)
    tick(now=NOON + dt.timedelta(days=3))

    got = texts(line.received(friend.line_user_id or ""))
    assert len(got) == 3
    assert got[0].startswith("友だち追加ありがとうございます")
    assert "会員連携" in got[2]
