"""The UI in a real browser (Playwright driving Debian's Chromium against live_server)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.services import save_segment
from otodoke.testing.processes import otodoke
from otodoke.web.tests.conftest import SECRET, TOKEN
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser

LINE_ID = "U" + "0123456789abcdef" * 2


def test_owner_logs_in_and_sees_the_japanese_dashboard(page_as: Callable[..., Page]) -> None:
    page = page_as(Role.OWNER)
    expect(page).to_have_url(re.compile(r"/w/salon/$"))
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_contain_text("ダッシュボード")
    nav = page.get_by_role("navigation", name="メインメニュー")
    for label in ("ダッシュボード", "連絡先", "セグメント", "オーディエンス", "配信", "設定"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    # The quota panel arrives through htmx; LINE is unreachable here, and it says so calmly.
    expect(page.get_by_test_id("quota-unknown")).to_be_visible()

    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dashboard")


def test_viewer_sees_masked_line_ids_and_cannot_reach_settings(
    workspace: Workspace, page_as: Callable[..., Page], live_server: object
) -> None:
    Contact.objects.create(
        workspace=workspace,
        name="山田花子",
        line_user_id=LINE_ID,
        line_status=LineStatus.FOLLOWING,
        line_followed_at=timezone.now(),
    )
    page = page_as(Role.VIEWER)
    nav = page.get_by_role("navigation", name="メインメニュー")
    expect(nav.get_by_role("link", name="設定")).to_have_count(0)

    nav.get_by_role("link", name="連絡先").click()
    expect(page.get_by_text("山田花子")).to_be_visible()
    expect(page.get_by_test_id("line-user-id")).to_have_text(re.compile(r"^U•+cdef$"))
    assert LINE_ID not in page.content()
    expect(page.get_by_role("link", name="CSVを取り込む")).to_have_count(0)

    page.get_by_role("link", name="山田花子").click()
    expect(page.get_by_test_id("line-status")).to_have_text("友だち")
    assert LINE_ID not in page.content()

    base = page.url.split("/w/")[0]
    for path in ("settings/", "settings/channel/", "settings/members/", "contacts/import/"):
        response = page.goto(f"{base}/w/salon/{path}")
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("権限がありません")


def test_owner_replaces_the_token_and_never_sees_it_again(
    workspace: Workspace, page_as: Callable[..., Page]
) -> None:
    page = page_as(Role.OWNER)
    page.get_by_role("link", name="設定").click()
    page.get_by_role("link", name="LINEチャネル").click()
    expect(page.get_by_test_id("token-masked")).to_have_text(re.compile(TOKEN[-4:] + "$"))
    assert TOKEN not in page.content() and SECRET not in page.content()

    new_token = "brand-new-token-" + "Q7" * 30
    page.get_by_label("新しいチャネルアクセストークン").fill(new_token)
    page.get_by_role("button", name="置き換える").click()

    expect(page.get_by_role("status")).to_have_text("チャネルの認証情報を置き換えました。")
    expect(page.get_by_test_id("token-masked")).to_have_text(re.compile(new_token[-4:] + "$"))
    assert new_token not in page.content()
    expect(page.get_by_label("新しいチャネルアクセストークン")).to_have_value("")
    workspace.refresh_from_db()
    assert workspace.channel_access_token.reveal() == new_token

    page.get_by_role("link", name="操作履歴").click()
    expect(page.get_by_role("cell", name="チャネル認証情報の変更")).to_be_visible()
    assert new_token not in page.content()


def test_import_through_the_ui_shows_progress_and_the_error_report(
    workspace: Workspace, page_as: Callable[..., Page], tmp_path: Path
) -> None:
    csv_file = tmp_path / "顧客一覧.csv"
    rows = ["顧客番号,氏名,携帯電話,生年月日"]
    rows += [f"{n},お客様{n},090-1234-{n:04d},1990/01/01" for n in range(1, 21)]
    rows += ["21,誕生日が変,090-1234-0021,1990/13/45"]
    csv_file.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp932"))

    page = page_as(Role.OPERATOR)
    page.get_by_role("link", name="連絡先").click()
    page.get_by_role("link", name="CSVを取り込む").click()
    page.get_by_label("CSVファイル").set_input_files(csv_file)
    page.get_by_role("button", name="次へ: 列を確認する").click()

    # The mapping step names the user's own file (issue 15.5), not the stored upload's name.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"列の確認 {csv_file.name}")
    expect(page.get_by_label("携帯電話")).to_have_value("phone")
    expect(page.get_by_label("生年月日")).to_have_value("birth_date")
    page.get_by_role("button", name="取り込みを開始").click()

    # No worker runs yet: the job waits, and the page keeps polling.
    expect(page.get_by_test_id("import-status")).to_have_text("待機中")
    worker = otodoke("worker", "--batch")
    assert worker.wait(timeout=120) == 0

    expect(page.get_by_test_id("import-status")).to_have_text("完了", timeout=15_000)
    expect(page.get_by_test_id("import-percent")).to_have_text("100%")
    expect(page.get_by_test_id("import-created")).to_have_text("20")
    report = page.get_by_test_id("error-report")
    expect(report.get_by_role("row")).to_have_count(2)  # header + the one bad line
    expect(report.get_by_role("cell", name="22", exact=True)).to_be_visible()
    assert Contact.objects.filter(workspace=workspace).count() == 20


def test_operator_filters_by_segment_and_picks_contacts_into_an_audience(
    workspace: Workspace, page_as: Callable[..., Page]
) -> None:
    people = [("山田花子", "東京都"), ("佐藤太郎", "東京都"), ("大阪次郎", "大阪府")]
    for name, prefecture in people:
        Contact.objects.create(workspace=workspace, name=name, prefecture=prefecture)
    definition = {"version": 1, "where": {"kind": "prefecture", "values": ["東京都"]}}
    save_segment(workspace, name="東京のお客様", definition=definition, actor=None)

    page = page_as(Role.OPERATOR)
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="連絡先").click()
    expect(page.get_by_test_id("contact-row")).to_have_count(3)
    page.locator("select[name=segment]").select_option(label="東京のお客様")
    rows = page.get_by_test_id("contact-row")
    expect(rows).to_have_count(2)  # htmx swapped the rows in place
    expect(page.get_by_test_id("open-in-builder")).to_be_visible()

    rows.filter(has_text="佐藤太郎").get_by_test_id("pick").check()
    page.locator("#pick-name").fill("店頭イベント")
    page.get_by_test_id("pick-create").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("店頭イベント")
    expect(page.get_by_test_id("audience-size")).to_have_text("1")
    expect(page.get_by_text("佐藤太郎")).to_be_visible()
    expect(page.get_by_text("山田花子")).to_have_count(0)

    page.go_back()
    page.get_by_test_id("open-in-builder").click()
    expect(page.get_by_test_id("segment-count")).to_have_text("2")


def test_phone_layout_keeps_navigation_reachable(page_as: Callable[..., Page]) -> None:
    page = page_as(Role.OWNER, phone=True)
    nav = page.get_by_role("navigation", name="メインメニュー")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="連絡先").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("連絡先")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must not scroll sideways on a phone"
