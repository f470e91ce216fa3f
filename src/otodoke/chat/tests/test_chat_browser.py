"""The chat inbox in Chromium: a friend types on the emulator's phone page, the message shows
up in the open inbox without a reload (htmx polling), a staff member answers from the
conversation page, and the friend's phone shows the answer."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, EmulatorServer
from otodoke.chat.models import ChatMessage, Direction, SendMethod
from otodoke.chat.tests.conftest import FRIEND
from otodoke.contacts.models import Contact
from otodoke.line.tests.conftest import run_tasks
from otodoke.web.tests.conftest import (  # noqa: F401 - fixtures
    browser,
    log_in,
    make_user,
    new_page,
    playwright_session,
)
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_friend_writes_on_the_phone_and_staff_answer_from_the_inbox(
    emulator: EmulatorServer,
    live_server: LiveServer,
    control: httpx.Client,
    friend: Contact,
    workspace: Workspace,
    new_page: Callable[..., Page],  # noqa: F811
) -> None:
    set_member_role(workspace, make_user("operator"), Role.OPERATOR, actor=None)
    staff = log_in(new_page(), live_server.url, "operator")
    staff.goto(f"{live_server.url}/w/{workspace.slug}/chat/")
    expect(staff.get_by_test_id("chat-list")).to_contain_text("まだチャットはありません")

    phone = new_page(phone=True)
    phone.goto(f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{FRIEND}")
    phone.get_by_label("Message").fill("今日の17時、空いてますか？")
    phone.get_by_role("button", name="Send").click()
    phone.wait_for_load_state()
    run_tasks()  # the worker processes the webhook the phone's message caused

    # No reload: the inbox list polls and shows the new conversation with one unread.
    conversation = staff.get_by_test_id("conversation")
    expect(conversation).to_contain_text("今日の17時、空いてますか？", timeout=15_000)
    expect(conversation.get_by_test_id("unread")).to_have_text("1")
    conversation.get_by_role("link").click()
    expect(staff.get_by_test_id("timeline")).to_contain_text("今日の17時、空いてますか？")
    expect(staff.get_by_test_id("reply-method")).to_contain_text("無料")

    staff.get_by_test_id("reply-text").fill("17時空いております！ご予約しますね。")
    staff.get_by_test_id("reply-send").click()
    expect(staff.get_by_test_id("timeline").get_by_test_id("chat-out")).to_contain_text(
        "17時空いております！"
    )

    phone.reload()
    expect(phone.locator(".bubble").last).to_have_text("17時空いております！ご予約しますね。")
    out = ChatMessage.objects.get(direction=Direction.OUT)
    assert out.method == SendMethod.REPLY
