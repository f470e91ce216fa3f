# ruff: noqa: F811 - the line app's fixtures are imported by name
"""The line app's fixtures (a real emulator over HTTP, Otodoke's webhook on the live server)
and helpers to make rules and read what a friend's phone received."""

from __future__ import annotations

from typing import Any

import httpx

from otodoke.autoreplies import services
from otodoke.autoreplies.models import Rule
from otodoke.line.tests.conftest import (  # noqa: F401 - fixtures
    control,
    process_webhooks_at_once,
    public_url,
    webhook_url,
    wired,
    workspace,
)
from otodoke.workspaces.models import Workspace

FRIEND = "U" + "a" * 32


def text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": body}


def keyword_rule(
    workspace: Workspace, name: str, words: list[str], answer: str, **more: Any
) -> Rule:
    return services.create_rule(
        workspace,
        {"kind": "keyword", "name": name, "keywords": words, "messages": [text(answer)], **more},
    )


def received(phone: httpx.Client, user_id: str = FRIEND) -> list[dict[str, Any]]:
    """Every message the friend's phone got, oldest first, with the endpoint that sent it."""
    records = phone.get(f"/friends/{user_id}/messages").json()["received"]
    return [{**m, "endpoint": r["endpoint"]} for r in records for m in r["messages"]]


def texts(phone: httpx.Client, user_id: str = FRIEND) -> list[str]:
    return [m.get("text", m.get("altText", "")) for m in received(phone, user_id)]


def requests_to(emulator_url: str, path: str) -> int:
    response = httpx.get(f"{emulator_url}/_emulator/responses", params={"path": path}, timeout=10)
    return len(response.json()["requests"])
