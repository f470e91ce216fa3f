"""Issue 15 "Done when", in Chromium and Japanese: a card carousel built from a ready-made
template with an image uploaded from the computer, previewed, test-sent through the LINE
emulator and seen on the emulator's phone page with the hosted image; an imagemap with two
tap areas drawn by dragging on the image.

Hosted images have https URLs (LINE accepts nothing else); the browser's requests to that
https origin are answered by this test's live server."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from PIL import Image, ImageDraw
from playwright.sync_api import Page, Route, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, EmulatorServer
from otodoke.campaigns.models import Campaign, TestRecipient
from otodoke.contacts.models import Contact, LineStatus
from otodoke.media.demo import product_picture
from otodoke.media.models import HostedImage
from otodoke.testing.browser import htmx_settled
from otodoke.web.tests.test_campaigns_browser import on_emulator, start_worker, wait_for
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser
__all__ = ["on_emulator", "start_worker"]  # fixtures shared with the newcomer's path

HOSTED = "https://otodoke.test"
HANAKO = "U" + "d4" * 16
SCREENSHOTS = Path(__file__).resolve().parents[4] / "docs" / "screenshots"


@pytest.fixture
def hosted(settings: Any, tmp_path: Path, live_server: LiveServer) -> str:
    settings.STORAGES = {
        **settings.STORAGES,
        "otodoke_images": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "images")},
        },
    }
    settings.MEDIA_PUBLIC_URL = f"{HOSTED}/media/i"
    return live_server.url


def serve_hosted(page: Page, live_url: str) -> None:
    def answer(route: Route) -> None:
        url = route.request.url.replace(HOSTED, live_url, 1)
        route.fulfill(response=route.fetch(url=url))

    page.context.route(f"{HOSTED}/**", answer)


def photo(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (1200, 780)) -> Path:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((size[0] // 2, 0, size[0], size[1]), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG")
    path.write_bytes(out.getvalue())
    return path


def test_a_card_carousel_from_a_template_with_an_uploaded_image_reaches_the_phone(
    on_emulator: Workspace,
    hosted: str,
    start_worker: Callable[[], None],
    emulator: EmulatorServer,
    members: dict[Role, User],
    page_as: Callable[..., Page],
    tmp_path: Path,
) -> None:
    httpx.post(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}/friends",
        json={"friends": [{"user_id": HANAKO, "display_name": "はなこ"}]},
        timeout=10,
    ).raise_for_status()
    hanako = Contact.objects.create(
        workspace=on_emulator,
        name="花子",
        line_user_id=HANAKO,
        line_status=LineStatus.FOLLOWING,
        marketing_consent=True,
    )
    TestRecipient.objects.create(workspace=on_emulator, contact=hanako)
    page = page_as(Role.OPERATOR)
    page.set_viewport_size({"width": 1280, "height": 1100})
    serve_hosted(page, hosted)
    start_worker()

    page.goto(f"{hosted}/w/salon/campaigns/new/")
    slot = page.get_by_test_id("message-slot-0")
    slot.locator("#id_m0-preset").select_option(label="商品紹介")
    slot.get_by_test_id("apply-preset-0").click()

    cards = slot.get_by_test_id("card-0")
    expect(cards).to_have_count(3)
    expect(slot.locator("#id_m0-kind")).to_have_value("card")
    expect(cards.first.locator("[name=m0-card_title]")).to_have_value("さらさらシャンプー")
    preview = page.get_by_test_id("line-preview")
    expect(preview.locator(".line-card")).to_have_count(3)

    htmx_settled(page)
    page.locator("#id_name").fill("おすすめ商品のご紹介")
    for n, name in enumerate(("シャンプー", "トリートメント", "オイル")):
        picture = tmp_path / f"{name}.jpg"
        picture.write_bytes(product_picture(n))
        cards.nth(n).locator("input[type=file]").set_input_files(picture)
        expect(cards.nth(n).locator("[data-thumb]")).to_be_visible()
    image = HostedImage.objects.get(original_name="シャンプー.jpg")
    url = f"{HOSTED}/media/i/{image.key}/original.jpg"
    expect(cards.first.locator("[name=m0-card_image]")).to_have_value(url)
    expect(cards.first.locator("[data-thumb]")).to_be_visible()
    htmx_settled(page)
    cards.first.locator("[name=m0-card_title]").fill("{{ name }}様に さらさらシャンプー")
    first_card = preview.locator(".line-card").first
    expect(first_card).to_contain_text("花子様に さらさらシャンプー")
    expect(first_card.locator("img")).to_have_attribute("src", url)
    wait_for(lambda: first_card.locator("img").evaluate("img => img.naturalWidth") > 0)
    htmx_settled(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "card-editor.png"), full_page=False)
    page.locator("#id_all_friends").check()
    htmx_settled(page)
    page.get_by_test_id("save-draft").click()

    expect(page.get_by_test_id("campaign-status")).to_be_visible()
    campaign = Campaign.objects.get()
    carousel = campaign.messages[0]["contents"]
    assert carousel["type"] == "carousel"
    assert carousel["contents"][0]["hero"]["url"] == url
    assert all("hero" in card for card in carousel["contents"])
    assert len(carousel["contents"]) == 3

    expect(page.get_by_test_id("test-recipient").locator("input[type=checkbox]")).to_be_checked()
    page.get_by_test_id("send-test").click()
    phone_url = f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{HANAKO}"

    def received() -> bool:
        return bool(httpx.get(phone_url, timeout=10).text.count(url))

    wait_for(received, timeout=60)
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(phone_url)
    phone_cards = page.locator(".card")
    expect(phone_cards).to_have_count(3)
    expect(phone_cards.first).to_contain_text("花子様に さらさらシャンプー")
    hero = phone_cards.first.locator("img")
    expect(hero).to_have_attribute("src", url)
    wait_for(lambda: hero.evaluate("img => img.complete && img.naturalWidth") > 0)
    page.screenshot(path=str(SCREENSHOTS / "phone-carousel.png"), full_page=False)


def test_an_imagemap_with_two_tap_areas_drawn_on_the_image(
    on_emulator: Workspace,
    hosted: str,
    members: dict[Role, User],
    page_as: Callable[..., Page],
    tmp_path: Path,
) -> None:
    page = page_as(Role.OPERATOR)
    serve_hosted(page, hosted)
    page.goto(f"{hosted}/w/salon/campaigns/new/")
    page.locator("#id_name").fill("春のメニュー")
    slot = page.get_by_test_id("message-slot-0")
    slot.locator("#id_m0-kind").select_option("imagemap")
    slot.locator("#id_m0-alt_text").fill("春のメニュー")
    slot.get_by_test_id("upload-map-0").set_input_files(
        photo(tmp_path / "menu.jpg", (230, 120, 150), size=(1040, 1040))
    )
    canvas = slot.get_by_test_id("map-canvas-0")
    picture = canvas.locator("img")
    expect(picture).to_be_visible()
    wait_for(lambda: picture.evaluate("img => img.complete && img.naturalWidth") > 0)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None

    def drag(x0: float, y0: float, x1: float, y1: float) -> None:
        page.mouse.move(box["x"] + box["width"] * x0, box["y"] + box["height"] * y0)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * x1, box["y"] + box["height"] * y1, steps=5)
        page.mouse.up()

    drag(0.02, 0.02, 0.48, 0.98)
    drag(0.52, 0.02, 0.98, 0.98)
    areas = slot.get_by_test_id("areas-0").locator("[data-area]")
    expect(areas).to_have_count(2)
    expect(canvas.locator(".map-area")).to_have_count(2)
    areas.nth(0).locator("[data-area-target]").fill("https://shop.example.jp/cut")
    areas.nth(1).locator("[data-area-target]").fill("予約したい")
    preview = page.get_by_test_id("line-preview")
    expect(preview.locator("img.line-image")).to_have_attribute(
        "src", f"{HOSTED}/media/i/{HostedImage.objects.get().key}/map/700"
    )
    htmx_settled(page)
    page.locator("#id_all_friends").check()
    htmx_settled(page)
    page.get_by_test_id("save-draft").click()

    expect(page.get_by_test_id("campaign-status")).to_be_visible()
    # The campaign page's preview shows the imagemap's 700 px rendition.
    expect(page.get_by_test_id("line-preview").locator("img.line-image")).to_have_attribute(
        "src", f"{HOSTED}/media/i/{HostedImage.objects.get().key}/map/700"
    )
    message = Campaign.objects.get().messages[0]
    assert message["type"] == "imagemap"
    assert message["baseSize"] == {"width": 1040, "height": 1040}
    first, second = message["actions"]
    assert first["type"] == "uri" and first["linkUri"] == "https://shop.example.jp/cut"
    assert second == {"type": "message", "text": "予約したい", "area": second["area"]}
    assert first["area"]["x"] < 60 and 440 < first["area"]["width"] < 520
    assert second["area"]["x"] > 520
    assert first["area"]["height"] > 900
