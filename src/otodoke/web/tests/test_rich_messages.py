"""The visual editor's server side (issue 15.3): cards, carousels, coupons, imagemaps and
templates are built as LINE JSON from plain fields, checked against LINE's limits in Japanese
before anything is saved, and read back into the fields when a draft is edited."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from otodoke.campaigns.models import Campaign
from otodoke.media import services as media
from otodoke.media.models import HostedImage
from otodoke.messaging import rich
from otodoke.messaging.validation import validate_messages
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

NEW = "/w/salon/campaigns/new/"
SHOP = "https://shop.example.jp/item"


@pytest.fixture(autouse=True)
def image_folder(settings: Any, tmp_path: Path) -> Path:
    settings.STORAGES = {
        **settings.STORAGES,
        "otodoke_images": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "images")},
        },
    }
    settings.MEDIA_PUBLIC_URL = "https://otodoke.example.jp/media/i"
    return tmp_path / "images"


def jpeg(width: int = 800, height: int = 520) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (250, 200, 210)).save(out, "JPEG")
    return out.getvalue()


def base(**fields: Any) -> list[tuple[str, str]]:
    pairs = [("name", "春の新商品"), ("track_links", "on"), ("all_friends", "on")]
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        pairs += [(key, str(v)) for v in values]
    return pairs


def post(client: Client, pairs: list[tuple[str, str]]) -> Any:
    from urllib.parse import urlencode

    return client.post(NEW, urlencode(pairs), content_type="application/x-www-form-urlencoded")


def card_fields(n: int, image: str = "") -> dict[str, Any]:
    fields: dict[str, Any] = {"m0-kind": "card", "m0-alt_text": "おすすめ商品"}
    fields["m0-card_image"] = [image] + [""] * (n - 1)
    fields["m0-card_title"] = [f"商品{i + 1}" for i in range(n)]
    fields["m0-card_text"] = ["{{ name }}様へのおすすめ"] * n
    fields["m0-card_price"] = ["3,300円"] * n
    fields["m0-card_b0_label"] = ["購入する"] * n
    fields["m0-card_b0_target"] = [SHOP] * n
    for j in (1, 2, 3):
        fields[f"m0-card_b{j}_label"] = [""] * n
        fields[f"m0-card_b{j}_target"] = [""] * n
    return fields


def test_every_ready_made_template_is_valid_line_json_and_reads_back() -> None:
    presets = rich.presets()
    assert [p["name"] for p in presets.values()] == [
        "新メニューのお知らせ",
        "クーポン",
        "商品紹介",
        "予約リマインド",
        "レシート",
    ]
    for preset in presets.values():
        message = preset["message"]
        assert validate_messages([message]) == [message]
        readable = (
            rich.parse_cards(message) or rich.parse_coupon(message) or rich.parse_template(message)
        )
        assert readable is not None, preset["name"]


def test_a_carousel_of_two_cards_is_saved_as_flex_json_built_from_the_fields(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    image = media.upload_image(workspace, jpeg())
    url = media.urls(image).original
    response = post(client_as(Role.OPERATOR), base(**card_fields(2, image=url)))
    assert response.status_code == 302
    message = Campaign.objects.get().messages[0]
    assert message["type"] == "flex"
    carousel = message["contents"]
    assert carousel["type"] == "carousel"
    assert len(carousel["contents"]) == 2
    first = carousel["contents"][0]
    assert first["hero"]["url"] == url
    assert [n["text"] for n in first["body"]["contents"]] == [
        "商品1",
        "{{ name }}様へのおすすめ",
        "3,300円",
    ]
    assert first["footer"]["contents"][0]["action"] == {
        "type": "uri",
        "label": "購入する",
        "uri": SHOP,
    }
    assert "hero" not in carousel["contents"][1]


def test_editing_a_card_draft_shows_the_cards_in_the_form(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OPERATOR)
    post(client, base(**card_fields(3)))
    campaign = Campaign.objects.get()
    page = client.get(f"/w/salon/campaigns/{campaign.pk}/edit/").content.decode()
    assert '<option value="card" selected>' in page
    for title in ("商品1", "商品2", "商品3"):
        assert f'name="m0-card_title" value="{title}"' in page
    assert page.count('data-testid="card-0"') == 3


def test_thirteen_cards_are_refused_naming_lines_limit(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = post(client_as(Role.OPERATOR), base(**card_fields(13)))
    assert response.status_code == 400
    assert (
        "カードが 13 枚あります。LINE のカルーセルは 12 枚までです。" in response.content.decode()
    )
    assert not Campaign.objects.exists()


def test_a_flex_button_label_over_forty_characters_is_refused(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    fields = card_fields(1)
    fields["m0-card_b0_label"] = ["あ" * 41]
    response = post(client_as(Role.OPERATOR), base(**fields))
    assert response.status_code == 400
    assert "カード 1、ボタン 1: ボタン名が 41 文字です。LINE の上限は 40 文字です。" in (
        response.content.decode()
    )
    assert not Campaign.objects.exists()


def test_a_confirm_template_needs_exactly_two_buttons(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    fields = {
        "m0-kind": "confirm",
        "m0-alt_text": "ご予約の確認",
        "m0-tpl_text": "明日のご予約に伺えますか？",
        "m0-act_label": ["伺います", "", "", ""],
        "m0-act_target": ["伺います", "", "", ""],
    }
    response = post(client_as(Role.OPERATOR), base(**fields))
    assert response.status_code == 400
    assert (
        "確認テンプレートのボタンは LINE では 2 つです（現在 1 つ）。" in response.content.decode()
    )
    fields["m0-act_label"] = ["伺います", "変更したい", "", ""]
    fields["m0-act_target"] = ["伺います", "https://shop.example.jp/reserve", "", ""]
    assert post(client_as(Role.OPERATOR), base(**fields)).status_code == 302
    template = Campaign.objects.get().messages[0]["template"]
    assert template["actions"] == [
        {"type": "message", "label": "伺います", "text": "伺います"},
        {"type": "uri", "label": "変更したい", "uri": "https://shop.example.jp/reserve"},
    ]


def test_an_imagemap_with_two_tap_areas_uses_the_hosted_images_base_size(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    image = media.upload_image(workspace, jpeg(1040, 700))
    fields = {
        "m0-kind": "imagemap",
        "m0-alt_text": "春のメニュー",
        "m0-map_base": media.urls(image).imagemap_base,
        "m0-map_height": "1",  # the browser's value loses to the hosted image's own
        "m0-area_x": ["0", "520"],
        "m0-area_y": ["0", "0"],
        "m0-area_w": ["520", "520"],
        "m0-area_h": ["700", "700"],
        "m0-area_label": ["カット", ""],
        "m0-area_target": [SHOP, "予約したい"],
    }
    client = client_as(Role.OPERATOR)
    assert post(client, base(**fields)).status_code == 302
    campaign = Campaign.objects.get()
    message = campaign.messages[0]
    assert message["baseSize"] == {"width": 1040, "height": 700}
    assert message["actions"] == [
        {
            "type": "uri",
            "linkUri": SHOP,
            "area": {"x": 0, "y": 0, "width": 520, "height": 700},
            "label": "カット",
        },
        {
            "type": "message",
            "text": "予約したい",
            "area": {"x": 520, "y": 0, "width": 520, "height": 700},
        },
    ]
    page = client.get(f"/w/salon/campaigns/{campaign.pk}/edit/").content.decode()
    assert f'name="m0-area_target" value="{SHOP}"' in page
    assert 'name="m0-area_target" value="予約したい"' in page
    assert 'name="m0-area_x" value="520"' in page


def test_a_coupon_is_built_and_round_trips(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    fields = {
        "m0-kind": "coupon",
        "m0-alt_text": "クーポン",
        "m0-coupon_title": "10% OFF",
        "m0-coupon_text": "{{ name }}様限定",
        "m0-coupon_code": "SPRING10",
        "m0-coupon_expiry": "有効期限: 5月末",
        "m0-coupon_label": "使う",
        "m0-coupon_target": "クーポンを使います",
    }
    client = client_as(Role.OPERATOR)
    assert post(client, base(**fields)).status_code == 302
    campaign = Campaign.objects.get()
    parsed = rich.parse_coupon(campaign.messages[0])
    assert parsed is not None
    assert parsed[1].code == "SPRING10"
    page = client.get(f"/w/salon/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="SPRING10"' in page


def test_applying_a_template_fills_the_slot_and_saves_nothing(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    pairs = base(**{"m0-kind": "text", "m0-text": "", "m0-preset": "products"})
    response = post(client_as(Role.OPERATOR), [*pairs, ("apply_preset", "0")])
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="card" selected>' in page
    assert 'name="m0-card_title" value="さらさらシャンプー"' in page
    assert 'value="春の新商品"' in page  # the rest of the form is kept
    assert not Campaign.objects.exists()


def test_edit_as_json_turns_the_cards_into_the_experts_flex_box(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = post(client_as(Role.OPERATOR), [*base(**card_fields(1)), ("to_json", "0")])
    page = response.content.decode()
    assert '<option value="flex" selected>' in page
    assert "&quot;carousel&quot;" not in page  # one card is a bubble
    assert "&quot;bubble&quot;" in page
    assert not Campaign.objects.exists()


def test_upload_answers_the_hosted_urls(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OPERATOR).post(
        "/w/salon/media/upload/", {"file": io.BytesIO(jpeg())}, format="multipart"
    )
    assert response.status_code == 200
    body = response.json()
    image = HostedImage.objects.get()
    assert body["original"] == f"https://otodoke.example.jp/media/i/{image.key}/original.jpg"
    assert body["imagemap_base"] == f"https://otodoke.example.jp/media/i/{image.key}/map"
    assert body["base_height"] == 676


def test_upload_of_a_tiny_image_is_refused_in_japanese(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OPERATOR).post(
        "/w/salon/media/upload/", {"file": io.BytesIO(jpeg(100, 100))}
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "画像は 100×100 ピクセルです。LINE では 240×240 ピクセル以上が必要です。"
    )
    assert not HostedImage.objects.exists()


def test_a_viewer_cannot_upload(workspace: Workspace, client_as: Callable[[Role], Client]) -> None:
    response = client_as(Role.VIEWER).post("/w/salon/media/upload/", {"file": io.BytesIO(jpeg())})
    assert response.status_code == 403
    assert not HostedImage.objects.exists()


def test_the_composer_preview_shows_an_imagemaps_image(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    image = media.upload_image(workspace, jpeg(1040, 700))
    fields = {
        "m0-kind": "imagemap",
        "m0-alt_text": "春のメニュー",
        "m0-map_base": media.urls(image).imagemap_base,
        "m0-map_height": "700",
        "m0-area_x": ["0"],
        "m0-area_y": ["0"],
        "m0-area_w": ["520"],
        "m0-area_h": ["700"],
        "m0-area_label": [""],
        "m0-area_target": [SHOP],
    }
    from urllib.parse import urlencode

    response = client_as(Role.OPERATOR).post(
        "/w/salon/campaigns/new/preview/",
        urlencode(base(**fields)),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert f'src="{media.urls(image).imagemap_base}/700"' in response.content.decode()


def test_applying_a_template_keeps_the_rest_of_the_form_without_errors(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    pairs = [("m0-kind", "text"), ("m0-preset", "coupon"), ("apply_preset", "0")]
    page = post(client_as(Role.OPERATOR), pairs).content.decode()
    assert 'value="SPRING10"' in page
    assert "このフィールドは必須です" not in page


def test_a_scenario_send_step_takes_a_card_from_the_same_editor(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    from urllib.parse import urlencode

    from otodoke.web.tests.test_scenarios_ui import simple

    scenario = simple(workspace)
    client = client_as(Role.OPERATOR)
    step = f"/w/salon/scenarios/{scenario.pk}/steps/0/"
    pairs = [("track_links", "on"), *base(**card_fields(2))[3:]]
    response = client.post(step, urlencode(pairs), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    scenario.refresh_from_db()
    assert scenario.current_version is not None
    message = scenario.current_version.steps[0]["messages"][0]
    assert message["contents"]["type"] == "carousel"
    page = client.get(step).content.decode()
    assert 'name="m0-card_title" value="商品2"' in page
