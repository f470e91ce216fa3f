"""The demo gets a default menu and a VIP menu for the VIP segment, published on the
emulator, once; a restart of the emulator (which forgets rich menus) publishes them again."""

from __future__ import annotations

import pytest

from otodoke.campaigns.tests.conftest import Line
from otodoke.core.demo import ensure_richmenus
from otodoke.richmenus.models import RichMenu, RichMenuRule
from otodoke.richmenus.tests.helpers import bulk_calls
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def _creates(line: Line) -> int:
    return sum(line.responses()["counts"].get("POST /v2/bot/richmenu", {}).values())


def test_the_demo_has_a_default_menu_and_a_vip_rule(
    workspace: Workspace, line: Line, vip: Segment
) -> None:
    assert ensure_richmenus(workspace) == []
    default = RichMenu.objects.get(workspace=workspace, is_default=True)
    assert default.alias == "regular" and default.published
    assert [a["type"] for a in default.areas] == ["uri", "postback", "richmenuswitch"]
    rule = RichMenuRule.objects.get(workspace=workspace)
    assert (rule.segment, rule.menu.alias) == (vip, "vip")
    assert _creates(line) == 2

    assert ensure_richmenus(workspace) == []  # the next start: nothing to do
    assert _creates(line) == 2 and RichMenu.objects.count() == 2
    assert bulk_calls(line) == {"link": 0, "unlink": 0}
