"""The customer search (顧客検索) in Chromium, in Japanese: a search by age, gender, last visit,
visits and spend narrows the list in place, and one click saves it as a segment whose count
is the list's. A module of its own: Playwright's event loop lives for one test module."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.models import Segment
from otodoke.segments.services import count_segment
from otodoke.testing.browser import htmx_settled
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


@pytest.fixture
def salon(workspace: Workspace) -> None:
    now = timezone.now()
    today = timezone.localdate()
    people = [
        # name, kana, gender, age, days since the last visit, visits, spent
        ("青木花子", "アオキハナコ", "female", 34, 90, 6, 48_000),
        ("井上さくら", "イノウエサクラ", "female", 36, 75, 3, 30_000),
        ("上田美咲", "ウエダミサキ", "female", 33, 10, 8, 60_000),
        ("江藤健", "エトウケン", "male", 35, 90, 6, 48_000),
        ("小川陽子", "オガワヨウコ", "female", 52, 90, 6, 48_000),
        ("加藤真理", "カトウマリ", "female", 31, 120, 2, 25_000),
    ]
    for i, (name, kana, gender, age, days, visits, spent) in enumerate(people):
        Contact.objects.create(
            workspace=workspace,
            external_id=f"C-{i + 1:03d}",
            name=name,
            name_kana=kana,
            gender=gender,
            birth_date=date(today.year - age, 1, 1),
            last_visit_at=now - timedelta(days=days),
            visit_count=visits,
            total_spent=spent,
            line_user_id=f"U{i + 1:032x}" if i % 2 == 0 else None,
            line_status=LineStatus.FOLLOWING if i % 2 == 0 else LineStatus.NONE,
        )


def test_search_by_age_gender_last_visit_visits_and_spend_saved_as_a_segment(
    workspace: Workspace, salon: None, page_as: Callable[..., Page]
) -> None:
    page = page_as(Role.OPERATOR)
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="連絡先").click()
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(6)

    form = page.get_by_test_id("search-form")
    for label, value in [
        ("年齢（から）", "30"),
        ("年齢（まで）", "39"),
        ("来店回数（から）", "3"),
        ("累計購入金額（から・円）", "20,000"),
    ]:
        form.get_by_label(label, exact=True).fill(value)
        form.get_by_label(label, exact=True).dispatch_event("change")
        htmx_settled(page)
    form.get_by_label("女性").check()
    htmx_settled(page)
    form.locator("select[name=last_visit]").select_option(label="… 日より前")
    htmx_settled(page)
    form.locator("input[name=last_visit_days]").fill("60")
    form.locator("input[name=last_visit_days]").dispatch_event("change")
    htmx_settled(page)

    expect(rows).to_have_count(2)  # htmx swapped the rows in place
    expect(page.get_by_test_id("result-count")).to_have_text("2件")
    expect(rows.filter(has_text="青木花子")).to_contain_text("48,000円")
    expect(rows.filter(has_text="青木花子").get_by_test_id("line-mark")).to_have_text("〇")
    expect(rows.filter(has_text="井上さくら").get_by_test_id("line-mark")).to_have_text("")
    expect(page.get_by_test_id("search-summary")).to_contain_text("年齢")

    # Sorting by total spent (a plain link: the whole page, filters kept) biggest first.
    page.get_by_test_id("sort-spent").click()
    page.wait_for_url(re.compile(r"sort=spent&dir=desc"))
    expect(rows.first).to_contain_text("青木花子")
    expect(rows).to_have_count(2)
    if shots := os.environ.get("OTODOKE_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(shots) / "customer-search.png"), full_page=True)

    page.locator("#save-search-name").fill("休眠気味の30代女性")
    page.get_by_test_id("save-search").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("休眠気味の30代女性")
    expect(page.get_by_test_id("segment-count")).to_have_text("2")
    segment = Segment.objects.get(workspace=workspace, name="休眠気味の30代女性")
    assert count_segment(workspace, segment).total == 2
