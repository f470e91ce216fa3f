"""In Chromium (issue 12.9): 配信する shows a confirmation and nothing is sent until it is
confirmed; going back sends nothing; the test-send picker starts from the saved test
recipients and searches while the staff member types."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from otodoke.campaigns import services
from otodoke.campaigns.models import Campaign, CampaignStatus, Delivery, TestRecipient
from otodoke.contacts.models import Contact, LineStatus
from otodoke.testing.browser import htmx_settled
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


def person(workspace: Workspace, n: int, name: str) -> Contact:
    return Contact.objects.create(
        workspace=workspace,
        name=name,
        external_id=f"C-{n:04d}",
        phone=f"+8190123400{n:02d}",
        line_user_id=f"U{n:032x}",
        line_status=LineStatus.FOLLOWING,
    )


def draft(workspace: Workspace, author: User) -> Campaign:
    return services.create_campaign(
        workspace,
        name="春のセール",
        messages=[{"type": "text", "text": "春のセールです"}],
        target={"all_friends": True},
        actor=author,
    )


def open_campaign(page: Page, campaign: Campaign) -> None:
    page.goto(page.url.rstrip("/") + f"/campaigns/{campaign.pk}/")


def test_send_asks_for_confirmation_and_going_back_sends_nothing(
    workspace: Workspace, members: dict[Role, User], page_as: Callable[..., Page]
) -> None:
    for n in range(1, 4):
        person(workspace, n, f"お客様{n}")
    campaign = draft(workspace, members[Role.OPERATOR])
    page = page_as(Role.OWNER)
    open_campaign(page, campaign)

    page.get_by_test_id("send").click()

    expect(page.get_by_test_id("confirm-send-page")).to_be_visible()
    expect(page.get_by_test_id("confirm-recipients")).to_have_text("3")
    expect(page.get_by_test_id("confirm-bubbles")).to_have_text("1")
    assert not Delivery.objects.filter(campaign=campaign).exists()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT

    page.get_by_test_id("cancel-send").click()

    expect(page.get_by_test_id("campaign-status")).to_have_text("下書き")
    assert not Delivery.objects.filter(campaign=campaign).exists()

    page.get_by_test_id("send").click()
    page.get_by_test_id("confirm-send").click()

    expect(page.get_by_test_id("campaign-status")).not_to_have_text("下書き")
    assert Delivery.objects.filter(campaign=campaign).count() == 1


def test_the_test_picker_defaults_to_saved_recipients_and_searches_while_typing(
    workspace: Workspace, members: dict[Role, User], page_as: Callable[..., Page]
) -> None:
    mine = person(workspace, 9, "店長 自分")
    TestRecipient.objects.create(workspace=workspace, contact=mine)
    for n in range(1, 5):
        person(workspace, n, "佐藤 悠斗")
    campaign = draft(workspace, members[Role.OPERATOR])
    page = page_as(Role.OPERATOR)
    open_campaign(page, campaign)
    url = page.url

    saved = page.get_by_test_id("test-recipient")
    expect(saved).to_have_count(1)
    expect(saved).to_contain_text("店長 自分")
    expect(saved.locator("input[type=checkbox]")).to_be_checked()
    expect(page.get_by_test_id("test-result")).to_have_count(0)

    htmx_settled(page)
    page.locator("#test-q").press_sequentially("佐藤")  # no Enter

    results = page.get_by_test_id("test-result")
    expect(results).to_have_count(4)
    numbers = results.get_by_test_id("picker-customer-number")
    expect(numbers).to_have_text([f"顧客番号 C-{n:04d}" for n in range(1, 5)])
    expect(results.get_by_test_id("picker-phone").first).to_have_text("電話番号 ••••••01")
    assert page.url == url  # htmx swapped the results in; the page did not reload

    results.nth(2).get_by_test_id("add-test-recipient").click()

    expect(page.get_by_test_id("test-recipient")).to_have_count(2)
    expect(page.get_by_test_id("test-recipient").nth(1)).to_contain_text("C-0003")
    checked = page.locator("[data-testid=test-recipient] input:checked")
    expect(checked).to_have_count(2)
