"""Helpers of the rich-menu tests: a published menu with a generated image, and what LINE
(the emulator, over HTTP) has linked to a user."""

from __future__ import annotations

import httpx

from line_emulator.testing import TEST_TOKEN
from otodoke.campaigns.tests.conftest import Line
from otodoke.richmenus import services
from otodoke.richmenus.images import generate
from otodoke.richmenus.models import RichMenu
from otodoke.workspaces.models import Workspace

HALVES = [
    {"x": 0, "y": 0, "width": 1250, "height": 843, "type": "postback", "value": "left"},
    {"x": 1250, "y": 0, "width": 1250, "height": 843, "type": "message", "value": "予約"},
]


def published(
    workspace: Workspace, name: str, *, alias: str = "", color: str = "#3d6cb9"
) -> RichMenu:
    menu = services.create_menu(
        workspace,
        name=name,
        chat_bar_text="メニュー",
        width=2500,
        height=843,
        image=generate(2500, 843, ["A", "B"], color=color),
        alias=alias,
    )
    services.save_areas(menu, HALVES)
    return services.publish_menu(menu)


def linked_menu(line: Line, user_id: str | None) -> str | None:
    """What LINE has linked to the user (None: nothing, the default shows)."""
    response = httpx.get(
        f"{line.url}/v2/bot/user/{user_id}/richmenu",
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=10,
    )
    if response.status_code == 404:
        return None
    response.raise_for_status()
    found: str = response.json()["richMenuId"]
    return found


def bulk_calls(line: Line) -> dict[str, int]:
    counts = line.responses()["counts"]
    return {
        "link": sum(counts.get("POST /v2/bot/richmenu/bulk/link", {}).values()),
        "unlink": sum(counts.get("POST /v2/bot/richmenu/bulk/unlink", {}).values()),
    }
