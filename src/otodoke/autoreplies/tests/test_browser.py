"""In Chromium, in Japanese: an operator creates a keyword rule under 自動応答 without JSON and
tries it in the test box; then a friend types 「予約」 on the emulator's phone page (a phone
viewport) and the phone page shows the free reply (real HTTP, a real `otodoke worker`)."""

# ruff: noqa: F811 - fixtures imported by name and used as arguments

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, EmulatorServer
from otodoke.autoreplies.models import AutoReply, ReplyStatus, Rule
from otodoke.web.tests.conftest import (  # noqa: F401 - the web app's fixtures, not line's
    browser,
    fast_password_hashing,
    members,
    new_page,
    page_as,
    playwright_session,
    workspace,
)
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

FRIEND = "U" + "b7" * 16
ANSWER = "ご予約はこちらから24時間受け付けています。"


def test_a_keyword_rule_made_in_the_browser_answers_the_friend_on_the_phone_page(
    on_emulator: Workspace,
    start_worker: Callable[[], None],
    emulator: EmulatorServer,
    live_server: LiveServer,
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
) -> None:
    page = page_as(Role.OPERATOR)
    page.get_by_test_id("nav-autoreplies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("自動応答")
    expect(page.get_by_test_id("free-note")).to_contain_text(
        "応答メッセージは配信数にカウントされません"
    )
    page.get_by_test_id("new-keyword").click()
    page.get_by_label("ルール名").fill("予約の案内")
    page.locator("textarea[name=keywords]").fill("予約\nよやく")
    page.locator("select[name=match_type]").select_option("contains")
    page.get_by_test_id("message-slot-0").locator("textarea").first.fill(ANSWER)
    page.get_by_test_id("save").click()
    expect(page.get_by_test_id("rule-row")).to_contain_text("予約の案内")
    rule = Rule.objects.get(workspace=on_emulator)
    assert (rule.keywords, rule.match_type) == (["予約", "よやく"], "contains")

    page.get_by_test_id("try-box").get_by_role("textbox").fill("予約したいです")
    page.get_by_role("button", name="どのルールが答える？").click()
    expect(page.get_by_test_id("try-result")).to_contain_text("予約の案内")

    # The friend, on a phone: follows, then types in the emulator's phone page.
    start_worker()
    follow(emulator, FRIEND, "はなこ")
    phone = new_page(phone=True)
    phone.goto(f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{FRIEND}")
    phone.get_by_test_id("phone-text").fill("予約したいです")
    phone.get_by_test_id("phone-send").click()
    wait_for(lambda: bool(received(emulator, FRIEND)), timeout=60)
    phone.reload()
    expect(phone.get_by_text(ANSWER)).to_be_visible()
    expect(phone.locator(".meta").first).to_contain_text("reply")
    (record,) = received(emulator, FRIEND)
    assert record["endpoint"] == "reply"
    assert AutoReply.objects.get().status == ReplyStatus.REPLIED
    pushes = httpx.get(
        f"{emulator.url}/_emulator/responses", params={"path": "/v2/bot/message/push"}
    ).json()["requests"]
    assert pushes == []
