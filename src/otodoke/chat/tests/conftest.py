"""Chat fixtures: the line tests' emulator workspace wired to Otodoke's live webhook, a
friend who follows, and helpers to make the friend send things and to read the inbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from otodoke.chat.models import Conversation
from otodoke.contacts.models import Contact
from otodoke.line.tests.conftest import (  # noqa: F401 - fixtures
    control,
    process_webhooks_at_once,
    run_tasks,
    webhook_url,
    wired,
    workspace,
)
from otodoke.workspaces.models import Workspace

FRIEND = "U" + "a1" * 16


@pytest.fixture
def friend(wired: httpx.Client, workspace: Workspace) -> Contact:  # noqa: F811
    response = wired.post(f"/friends/{FRIEND}/follow", json={"display_name": "さくら"})
    assert response.status_code == 200, response.text
    run_tasks()
    return Contact.objects.get(workspace=workspace, line_user_id=FRIEND)


def friend_sends(control: httpx.Client, spec: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """The friend sends a message (any kind) from their phone; Otodoke processes it."""
    response = control.post(f"/friends/{FRIEND}/send", json=spec)
    assert response.status_code == 200, response.text
    run_tasks()
    body: dict[str, Any] = response.json()
    return body


def received(control: httpx.Client) -> list[dict[str, Any]]:  # noqa: F811
    """What the friend's phone got: one record per request, with its endpoint."""
    response = control.get(f"/friends/{FRIEND}/messages")
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["received"]
    return records


def conversation_of(contact: Contact) -> Conversation:
    return Conversation.objects.get(contact=contact)
