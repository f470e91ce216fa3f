"""Account linking in a real Chromium at a phone's size, as LINE's in-app browser opens it:
Otodoke's verification page, then the emulator's LINE page, then the accountLink webhook."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LinkedVia
from otodoke.line.linking import issue_account_link
from otodoke.line.models import AccountLinkNonce, WebhookEvent, WebhookStatus
from otodoke.line.tests.conftest import LINKING_USER, run_tasks
from otodoke.web.tests.conftest import browser, playwright_session  # noqa: F401 - fixtures
from otodoke.workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What LINE's in-app browser on an iPhone says it is.
LINE_IN_APP_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Safari Line/14.9.0"
)


@pytest.fixture
def phone(browser: Browser) -> Page:  # noqa: F811 - the imported fixture
    context = browser.new_context(
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        user_agent=LINE_IN_APP_UA,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    return context.new_page()


def test_a_friend_links_from_a_phone_in_chromium(
    emulator: EmulatorServer,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
    phone: Page,
) -> None:
    invite = issue_account_link(workspace, LINKING_USER)

    phone.goto(invite.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("LINEアカウントの連携")
    phone.get_by_label("会員番号").fill("M-1001")
    phone.get_by_label("生年月日").fill("1990-04-01")
    phone.get_by_role("button", name="次へ").click()

    # The form posted (no CSRF 403) and the browser followed the redirect to LINE's page,
    # which confirmed the link and sent the accountLink webhook.
    expect(phone).to_have_url(re.compile(re.escape(emulator.url) + r"/dialog/bot/accountLink\?"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Linked")
    run_tasks()

    link_event = WebhookEvent.objects.get(event_type="accountLink")
    assert link_event.status == WebhookStatus.PROCESSED, link_event.outcome
    linked = Contact.objects.get(pk=customer.pk)
    assert linked.line_user_id == LINKING_USER
    assert linked.line_linked_via == LinkedVia.ACCOUNT_LINK
    assert AccountLinkNonce.objects.get().used_at is not None
