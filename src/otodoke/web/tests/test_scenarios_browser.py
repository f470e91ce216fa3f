"""A scenario built in a real Chromium, in Japanese (issue 13's "Done when"): quiet hours set
under 設定 → 自動配信, 友だち追加あいさつ created from its template with one click, its first
message edited in the composer with the LINE-like preview, activated; then a friend follows
in the LINE emulator (real HTTP, a real `otodoke worker`) and receives the first step, and the
scenario's statistics and the contact's page show it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact
from otodoke.scenarios.models import AutomationSettings, Scenario, ScenarioStatus
from otodoke.scenarios.services import create_scenario
from otodoke.testing.browser import htmx_settled
from otodoke.web.tests.test_campaigns_browser import (  # noqa: F401 - fixtures and helpers
    follow,
    on_emulator,
    received,
    start_worker,
    wait_for,
)
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser

FRIEND = "U" + "d4" * 16
GREETING = "はじめまして!サロン花と緑です。ご予約はこのトークからどうぞ。"


def test_a_template_scenario_built_in_the_browser_greets_a_new_friend(
    on_emulator: Workspace,  # noqa: F811 - the imported fixture
    start_worker: Callable[[], None],  # noqa: F811
    emulator: EmulatorServer,
    live_server: LiveServer,
    page_as: Callable[..., Page],
) -> None:
    page = page_as(Role.OWNER)

    # Quiet hours (default 21:00–09:00) would hold the greeting; this shop turns them off.
    page.get_by_role("link", name="設定").click()
    page.get_by_test_id("tab-automation").click()
    page.get_by_label("配信停止時間帯はシナリオのメッセージを待たせる").uncheck()
    page.get_by_test_id("save").click()
    expect(page.get_by_text("保存しました。")).to_be_visible()
    assert AutomationSettings.objects.get(workspace=on_emulator).quiet_hours_enabled is False

    # One click on the template card creates a draft with the trigger and steps as cards.
    page.get_by_test_id("nav-scenarios").click()
    page.get_by_test_id("new-scenario").click()
    page.get_by_test_id("template-welcome_on_follow").get_by_role("button").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("友だち追加あいさつ")
    expect(page.get_by_test_id("scenario-status")).to_have_text("下書き")
    expect(page.get_by_test_id("trigger-summary")).to_have_text("友だち追加されたとき")
    expect(page.get_by_test_id("step-card-0")).to_contain_text("メッセージ送信")
    expect(page.get_by_test_id("activation-ok")).to_be_visible()

    # The first message, edited in the composer's editor; the LINE preview follows the text.
    page.get_by_test_id("edit-step-0").click()
    text = page.get_by_test_id("message-slot-0").locator("textarea").first
    text.fill(GREETING)
    htmx_settled(page)
    expect(page.get_by_test_id("preview-text")).to_have_text(GREETING)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("step-card-0")).to_contain_text(GREETING)

    # Activate: the check passed, the scenario runs by itself.
    page.get_by_test_id("activate").click()
    scenario = Scenario.objects.get(workspace=on_emulator)
    assert scenario.status == ScenarioStatus.ACTIVE
    # The edit kept the template's "answer at once" (the step ignores quiet hours).
    assert scenario.current_version is not None
    assert scenario.current_version.steps[0]["quiet_hours"] is False
    expect(page.get_by_test_id("scenario-status")).to_have_text(str(scenario.get_status_display()))
    expect(page.get_by_test_id("version-note")).to_be_visible()

    # A customer adds the account as a friend in the emulator: the follow webhook enters them,
    # and the worker sends the first step over LINE's API.
    start_worker()
    follow(emulator, FRIEND, "はなこ")
    wait_for(lambda: bool(received(emulator, FRIEND)), timeout=60)
    messages = [m for request in received(emulator, FRIEND) for m in request["messages"]]
    assert [m["text"] for m in messages] == [GREETING]

    # The statistics count the send; the contact's page shows the run and its next step (the
    # 3-day wait is under way, so the next step due is the introduction, step 3).
    page.reload()
    expect(page.get_by_test_id("step-sent-0")).to_have_text("1")
    expect(page.get_by_test_id("stat-active")).to_have_text("1")
    contact = Contact.objects.get(workspace=on_emulator, line_user_id=FRIEND)
    page.goto(f"{live_server.url}/w/{on_emulator.slug}/contacts/{contact.pk}/")
    enrolments = page.get_by_test_id("contact-enrolments")
    expect(enrolments).to_contain_text("友だち追加あいさつ")
    expect(enrolments.get_by_test_id("enrolment-step")).to_contain_text("ステップ3: メッセージ送信")
    expect(enrolments.get_by_test_id("enrolment-due")).to_be_visible()


def test_who_may_enter_is_built_in_the_segment_builder_in_chromium(
    workspace: Workspace, page_as: Callable[..., Page], live_server: LiveServer
) -> None:
    for name, gender in (("花子", "female"), ("一郎", "male")):
        Contact.objects.create(workspace=workspace, name=name, gender=gender)
    scenario = create_scenario(
        workspace,
        name="女性向けあいさつ",
        spec={
            "trigger": {"kind": "friend_added"},
            "steps": [{"type": "send", "messages": [{"type": "text", "text": "ようこそ"}]}],
        },
    )
    page = page_as(Role.OPERATOR)
    page.goto(f"{live_server.url}/w/{workspace.slug}/scenarios/{scenario.pk}/")
    page.get_by_test_id("edit-conditions").click()
    count = page.get_by_test_id("segment-count")
    expect(count).to_have_text("2")
    htmx_settled(page)
    page.get_by_test_id("add-condition").select_option("gender")  # starts as 女性
    expect(count).to_have_text("1")
    htmx_settled(page)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("trigger-card")).to_contain_text("性別")
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    conditions = scenario.current_version.conditions
    assert conditions is not None and conditions["where"]["conditions"][0]["kind"] == "gender"
