"""A rich menu built in a real Chromium (issue 16.1): an image uploaded, two tap areas drawn by
dragging on it, published to the LINE emulator over HTTP and made the account default; then the
friend's phone page (at a phone's size) shows the menu and a tap on an area sends the postback
webhook to Otodoke."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, EmulatorServer
from otodoke.line.models import WebhookEvent
from otodoke.richmenus.images import generate
from otodoke.richmenus.models import RichMenu
from otodoke.web.tests.test_campaigns_browser import (  # noqa: F401 - fixtures and helpers
    on_emulator,
    wait_for,
)
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FRIEND = "U" + "e5" * 16
SCREENSHOT = Path(__file__).resolve().parents[4] / "docs" / "screenshots" / "richmenu-editor.png"


def _drag(page: Page, canvas: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * start[0], box["y"] + box["height"] * start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5 * (start[0] + end[0]), box["y"] + 40, steps=3)
    page.mouse.move(box["x"] + box["width"] * end[0], box["y"] + box["height"] * end[1], steps=3)
    page.mouse.up()


def test_two_areas_drawn_and_published_show_on_the_phone_and_a_tap_posts_back(
    on_emulator: Workspace,  # noqa: F811 - the imported fixture
    emulator: EmulatorServer,
    live_server: LiveServer,
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    httpx.post(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}/friends",
        json={"friends": [{"user_id": FRIEND, "status": "following", "display_name": "花子"}]},
        timeout=10,
    ).raise_for_status()
    image = tmp_path / "menu.png"
    image.write_bytes(generate(2500, 843, ["Reserve", "Coupon"]))

    page = page_as(Role.OWNER)
    page.get_by_test_id("nav-richmenus").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("リッチメニュー")
    form = page.get_by_test_id("richmenu-new")
    form.get_by_label("名前(友だちには表示されません)").fill("いつものメニュー")
    form.get_by_label("サイズ").select_option("2500x843")
    form.get_by_label("画像").set_input_files(str(image))
    form.get_by_role("button", name="作成").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("いつものメニュー")

    canvas = page.get_by_test_id("richmenu-canvas")
    _drag(page, canvas, (0.02, 0.05), (0.48, 0.95))
    _drag(page, canvas, (0.52, 0.05), (0.98, 0.95))
    rows = page.get_by_test_id("richmenu-area-row")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_test_id("richmenu-area-type").select_option("postback")
    rows.nth(0).get_by_test_id("richmenu-area-value").fill("reserve")
    rows.nth(1).get_by_test_id("richmenu-area-type").select_option("uri")
    rows.nth(1).get_by_test_id("richmenu-area-value").fill("https://example.com/coupon")
    page.get_by_test_id("richmenu-save-areas").click()
    expect(page.get_by_text("タップ領域を保存しました(2)")).to_be_visible()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    menu = RichMenu.objects.get(workspace=on_emulator)
    left, right = menu.areas
    assert left["type"] == "postback" and left["x"] < 100 and 1100 < left["width"] < 1250
    assert right["type"] == "uri" and right["x"] > 1250 and left["height"] > 700

    page.get_by_test_id("richmenu-publish").click()
    expect(page.get_by_text("LINEに公開しました。")).to_be_visible()
    page.get_by_test_id("richmenu-make-default").click()
    expect(page.get_by_text("アカウントの既定のメニューになりました。")).to_be_visible()

    phone = new_page(phone=True)
    phone.goto(f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{FRIEND}")
    shown = phone.get_by_test_id("richmenu")
    expect(shown).to_be_visible()
    menu.refresh_from_db()
    assert shown.get_attribute("data-richmenu-id") == menu.line_rich_menu_id
    phone.get_by_test_id("richmenu-area-0").click()
    expect(phone.get_by_test_id("richmenu")).to_be_visible()  # back on the phone page

    wait_for(lambda: WebhookEvent.objects.filter(event_type="postback").exists())
    event = WebhookEvent.objects.get(event_type="postback")
    assert event.source_user_id == FRIEND
    assert event.raw["postback"]["data"] == "reserve"
