"""The segment builder in a real browser (Playwright driving Debian's Chromium), in Japanese.
A module of its own: Playwright's event loop lives for one test module (see conftest)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from otodoke.contacts.models import Contact
from otodoke.segments.services import save_segment
from otodoke.testing.browser import htmx_settled
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


def born(age: int) -> Any:
    return timezone.localdate().replace(year=timezone.localdate().year - age, month=1, day=1)


@pytest.fixture
def customers(workspace: Workspace) -> None:
    for n, (name, gender, age, status) in enumerate(
        [
            ("花子", "female", 35, "following"),
            ("洋子", "female", 32, "blocked"),
            ("一郎", "male", 36, "following"),
            ("陽子", "female", 52, "following"),
        ],
        start=1,
    ):
        Contact.objects.create(
            workspace=workspace,
            name=name,
            gender=gender,
            birth_date=born(age),
            line_status=status,
            line_user_id=f"U{n:032x}",
            line_followed_at=timezone.now(),
        )


def test_owner_builds_a_segment_watches_the_count_and_saves_it(
    customers: None, page_as: Callable[..., Page]
) -> None:
    page = page_as(Role.OWNER)
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.get_by_role("navigation", name="メインメニュー").get_by_role(
        "link", name="セグメント"
    ).click()
    page.get_by_test_id("new-segment").click()
    count, reachable = page.get_by_test_id("segment-count"), page.get_by_test_id("reachable-count")
    expect(count).to_have_text("4")

    htmx_settled(page)
    page.get_by_test_id("add-condition").select_option("gender")  # starts as 女性
    expect(count).to_have_text("3")
    expect(page.get_by_test_id("segment-summary")).to_contain_text("性別")

    htmx_settled(page)
    page.get_by_test_id("add-condition").select_option("age")  # starts as 30–39
    expect(count).to_have_text("2")
    expect(reachable).to_have_text("1")  # 洋子 blocked us
    htmx_settled(page)
    page.get_by_test_id("max").fill("59")
    page.get_by_test_id("max").press("Tab")
    expect(count).to_have_text("3")
    expect(page.get_by_test_id("segment-summary")).to_contain_text("年齢")

    htmx_settled(page)
    page.get_by_label(re.compile("Segment name|セグメント名")).fill("女性30〜59歳")
    page.get_by_test_id("save").click()
    row = page.get_by_test_id("segment-row").filter(has_text="女性30〜59歳")
    expect(row).to_be_visible()
    expect(row.get_by_test_id("segment-row-count")).to_contain_text("3")


def test_viewer_has_no_export_button_and_the_export_url_answers_403(
    workspace: Workspace, customers: None, page_as: Callable[..., Page]
) -> None:
    segment = save_segment(
        workspace,
        name="全員",
        definition={"version": 1, "where": {"kind": "all", "conditions": []}},
        actor=None,
    )
    page = page_as(Role.VIEWER)
    base = page.url.split("/w/")[0]
    page.goto(f"{base}/w/salon/segments/{segment.pk}/")
    expect(page.get_by_test_id("segment-count")).to_have_text("4")
    expect(page.get_by_test_id("export-button")).to_have_count(0)
    expect(page.get_by_test_id("save")).to_have_count(0)
    response = page.goto(f"{base}/w/salon/segments/{segment.pk}/export/")
    assert response is not None and response.status == 403
