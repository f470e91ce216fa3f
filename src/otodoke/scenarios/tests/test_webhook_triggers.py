"""Triggers from LINE, end to end: a simulated friend acts at the emulator, the signed webhook
reaches Otodoke's live server, the worker processes it, the scenario's first step goes out."""

# ruff: noqa: F811 - the line app's fixtures are imported by name and used as arguments

from __future__ import annotations

import httpx
import pytest

from otodoke.contacts.models import Contact
from otodoke.line.tests.conftest import (  # noqa: F401 - fixtures
    control,
    process_webhooks_at_once,
    run_tasks,
    webhook_url,
    wired,
    workspace,
)
from otodoke.scenarios.models import Enrolment, EnrolmentStatus
from otodoke.scenarios.services import set_quiet_hours
from otodoke.scenarios.tests.helpers import active, text, texts, wait
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
USER = "U" + "c" * 32


def received(wired: httpx.Client, user_id: str = USER) -> list[str]:
    return texts(wired.get(f"/friends/{user_id}/messages").json()["received"])


@pytest.fixture(autouse=True)
def any_hour(workspace: Workspace) -> None:
    """These tests run on the real clock, which may be inside the default quiet hours."""
    set_quiet_hours(workspace, enabled=False)


def test_a_new_friend_gets_the_welcome_message(workspace: Workspace, wired: httpx.Client) -> None:
    active(workspace, [text("友だち追加ありがとうございます")])
    wired.post(f"/friends/{USER}/follow", json={"display_name": "田中"})
    run_tasks()
    assert received(wired) == ["友だち追加ありがとうございます"]
    assert Enrolment.objects.get().source == "follow"


def test_blocking_mid_scenario_exits_and_unblocking_is_a_refollow(
    workspace: Workspace, wired: httpx.Client
) -> None:
    active(workspace, [text("ようこそ"), wait(days=3), text("3日後")], entry_rule="every")
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    wired.post(f"/friends/{USER}/block")
    run_tasks()
    first = Enrolment.objects.get()
    assert (first.status, first.exit_reason) == (EnrolmentStatus.EXITED, "blocked")

    wired.post(f"/friends/{USER}/unblock")
    run_tasks()
    assert received(wired) == ["ようこそ", "ようこそ"]
    again = Enrolment.objects.get(status=EnrolmentStatus.ACTIVE)
    assert (again.run, again.source) == (2, "refollow")


def test_a_refollow_can_be_left_out(workspace: Workspace, wired: httpx.Client) -> None:
    active(
        workspace,
        [text("はじめまして")],
        trigger={"kind": "friend_added", "params": {"include_refollow": False}},
        entry_rule="every",
    )
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    wired.post(f"/friends/{USER}/block")
    wired.post(f"/friends/{USER}/unblock")
    run_tasks()
    assert received(wired) == ["はじめまして"]


def test_a_keyword_message_and_a_postback_trigger_their_scenarios(
    workspace: Workspace, wired: httpx.Client
) -> None:
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    active(
        workspace,
        [text("クーポンはこちら")],
        trigger={"kind": "keyword", "params": {"keywords": ["クーポン"]}},
    )
    active(
        workspace,
        [text("予約を受け付けました")],
        trigger={"kind": "postback", "params": {"key": "action", "value": "reserve"}},
    )
    wired.post(f"/friends/{USER}/message", json={"text": "こんにちは"})
    run_tasks()
    assert received(wired) == []
    wired.post(f"/friends/{USER}/message", json={"text": " クーポン "})
    wired.post(f"/friends/{USER}/postback", json={"data": "action=reserve&slot=3"})
    run_tasks()
    assert sorted(received(wired)) == sorted(["クーポンはこちら", "予約を受け付けました"])
    assert Contact.objects.count() == 1
