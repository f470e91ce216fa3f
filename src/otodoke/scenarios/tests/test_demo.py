"""The demo starts with the birthday and 60-day scenarios active; a follow is greeted by the
welcome auto-reply instead of the welcome scenario (see otodoke.autoreplies.demo)."""

from __future__ import annotations

import pytest

from otodoke.core.demo import create_examples
from otodoke.scenarios.models import Scenario
from otodoke.workspaces.services import create_workspace

pytestmark = pytest.mark.django_db


def test_the_demo_activates_the_birthday_and_60_day_scenarios() -> None:
    workspace = create_workspace(
        name="Demo", slug="demo", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9",
    )  # fmt: skip
    create_examples(workspace)
    active = dict(Scenario.objects.filter(workspace=workspace).values_list("template", "status"))
    assert active == {
        "birthday_month_coupon": "active",
        "come_back_after_60_days": "active",
    }
