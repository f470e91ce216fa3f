"""Building scenarios in tests, and a clock at noon in Tokyo (outside quiet hours)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from otodoke.scenarios.models import Scenario, ScenarioVersion
from otodoke.scenarios.services import activate_scenario, create_scenario
from otodoke.workspaces.models import Workspace

# 2026-04-01 12:00 in Asia/Tokyo (a Wednesday).
NOON = dt.datetime(2026, 4, 1, 3, 0, tzinfo=dt.UTC)


def text(body: str) -> dict[str, Any]:
    return {"type": "send", "messages": [{"type": "text", "text": body}]}


def wait(**kw: Any) -> dict[str, Any]:
    return {"type": "wait", **kw}


def active(
    workspace: Workspace,
    steps: list[dict[str, Any]],
    *,
    trigger: dict[str, Any] | None = None,
    name: str = "s",
    **spec: Any,
) -> tuple[Scenario, ScenarioVersion]:
    data: dict[str, Any] = {
        "trigger": trigger or {"kind": "friend_added"},
        "steps": steps,
        **spec,
    }
    scenario = create_scenario(workspace, name=name, spec=data)
    activate_scenario(scenario)
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    return scenario, scenario.current_version


def texts(received: list[dict[str, Any]]) -> list[str]:
    """The text of every message a friend received, in order."""
    out = []
    for request in received:
        for message in request.get("messages", [request]):
            if message.get("type") == "text":
                out.append(message["text"])
    return out
