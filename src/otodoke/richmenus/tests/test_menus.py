"""Menus against LINE's rules and the emulator over HTTP: image size, weight and type errors in
the user's language, nothing stored on a refusal; tabs through aliases (the phone follows a
switch); republishing moves linked friends to the new LINE menu; menu links are counted."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from django.test import Client
from django.utils import translation
from PIL import Image

from line_emulator.testing import TEST_CHANNEL_ID
from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.tagging import add_tags
from otodoke.richmenus import services, sync
from otodoke.richmenus.images import ImageError, check_image, generate
from otodoke.richmenus.models import RichMenu
from otodoke.richmenus.tests.helpers import linked_menu, published
from otodoke.segments.models import Segment
from otodoke.tracking.models import Click, TrackedLink
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def _jpeg(width: int, height: int, *, noise: bool = False) -> bytes:
    image = (
        Image.effect_noise((width, height), 100).convert("RGB")
        if noise
        else Image.new("RGB", (width, height), "white")
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=100)
    return out.getvalue()


def test_an_image_of_another_size_is_refused_with_both_sizes_in_japanese() -> None:
    with translation.override("ja"), pytest.raises(ImageError) as caught:
        check_image(_jpeg(2500, 1686), 2500, 843)
    assert str(caught.value) == (
        "画像は2500×1686ピクセルですが、メニューは2500×843です。"
        "LINEでは画像をメニューと同じサイズにする必要があります。"
    )


def test_an_image_over_one_megabyte_or_not_jpeg_or_png_is_refused() -> None:
    heavy = _jpeg(2500, 1686, noise=True)
    assert len(heavy) > 1024 * 1024
    with pytest.raises(ImageError, match="at most 1024 KB"):
        check_image(heavy, 2500, 1686)
    gif = io.BytesIO()
    Image.new("RGB", (2500, 843)).save(gif, format="GIF")
    with pytest.raises(ImageError, match="GIF; LINE accepts only JPEG or PNG"):
        check_image(gif.getvalue(), 2500, 843)
    with pytest.raises(ImageError, match="not an image"):
        check_image(b"%PDF-1.4 not an image", 2500, 843)
    assert check_image(_jpeg(2500, 843), 2500, 843).content_type == "image/jpeg"


def test_a_size_line_does_not_allow_is_refused(workspace: Workspace) -> None:
    with pytest.raises(services.MenuError, match=r"at least 1\.45"):
        services.create_menu(workspace, name="tall", chat_bar_text="x", width=1000, height=800)
    assert not RichMenu.objects.exists()


def test_the_upload_page_says_what_is_wrong_in_japanese_and_stores_nothing(
    workspace: Workspace, owner: object
) -> None:
    client = Client()
    client.force_login(owner)  # type: ignore[arg-type]
    upload = io.BytesIO(_jpeg(2500, 1686))
    upload.name = "menu.jpg"
    response = client.post(
        f"/w/{workspace.slug}/richmenus/new/",
        {"name": "冬", "chat_bar_text": "メニュー", "size": "2500x843", "image": upload},
        headers={"Accept-Language": "ja"},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "画像は2500×1686ピクセルですが、メニューは2500×843です。" in page
    assert not RichMenu.objects.exists()


def test_tabs_switch_through_the_alias_on_the_phone(workspace: Workspace, line: Line) -> None:
    friend = make_contacts(workspace, line, 1)[0]
    second = published(workspace, "tab2", alias="tab-two")
    first = services.create_menu(
        workspace,
        name="tab1",
        chat_bar_text="メニュー",
        width=2500,
        height=843,
        image=generate(2500, 843, ["1", "2"]),
        alias="tab-one",
    )
    services.save_areas(
        first,
        [
            {
                "x": 1250,
                "y": 0,
                "width": 1250,
                "height": 843,
                "type": "richmenuswitch",
                "target": second.pk,
                "value": "tab:2",
            },
        ],
    )
    services.publish_menu(first)
    services.set_default_menu(workspace, first)

    phone = f"{line.url}/_emulator/phone/{TEST_CHANNEL_ID}/{friend.line_user_id}"
    page = httpx.get(phone, timeout=10).text
    assert f'data-richmenu-id="{first.line_rich_menu_id}"' in page
    tap = re.search(r'action="([^"]+/richmenu/[^"]+/0)"', page)
    assert tap is not None
    httpx.post(f"{line.url}{tap.group(1)}", timeout=10, follow_redirects=False)
    page = httpx.get(phone, timeout=10).text
    assert f'data-richmenu-id="{second.line_rich_menu_id}"' in page
    hooks = httpx.get(f"{line.channel}/webhooks", timeout=10).json()
    events = [e for d in hooks["deliveries"] for e in d["events"]]
    assert events[-1]["postback"] == {
        "data": "tab:2",
        "params": {"newRichMenuAliasId": "tab-two", "status": "SUCCESS"},
    }


def test_a_tab_to_a_menu_without_alias_is_refused_before_line(workspace: Workspace) -> None:
    plain = published(workspace, "plain")
    menu = services.create_menu(
        workspace,
        name="m",
        chat_bar_text="x",
        width=2500,
        height=843,
        image=generate(2500, 843, ["x"]),
    )
    services.save_areas(
        menu,
        [
            {
                "x": 0,
                "y": 0,
                "width": 100,
                "height": 100,
                "type": "richmenuswitch",
                "target": plain.pk,
            }
        ],
    )
    with pytest.raises(services.MenuError, match="Publish the menu “plain”"):
        services.publish_menu(menu)
    assert not RichMenu.objects.get(pk=menu.pk).published


def test_republishing_moves_linked_friends_to_the_new_line_menu(
    workspace: Workspace, line: Line, vip: Segment
) -> None:
    people = make_contacts(workspace, line, 2)
    add_tags(workspace, [p.pk for p in people], ["VIP"])
    menu = published(workspace, "vip", alias="vip")
    services.create_rule(workspace, name="VIP", segment=vip, menu=menu)
    sync.sync(workspace, full=True)
    old = menu.line_rich_menu_id
    services.update_menu(menu, chat_bar_text="新VIP")
    services.publish_menu(menu)
    assert menu.line_rich_menu_id != old
    result = sync.sync(workspace, full=True)
    assert (result.linked, result.calls) == (2, 1)
    assert {linked_menu(line, p.line_user_id) for p in people} == {menu.line_rich_menu_id}
    alias = httpx.get(
        f"{line.url}/v2/bot/richmenu/alias/vip",
        headers={"Authorization": "Bearer " + workspace.channel_access_token.reveal()},
        timeout=10,
    ).json()
    assert alias["richMenuId"] == menu.line_rich_menu_id


def test_a_menu_link_is_tracked_and_redirects_to_its_url(workspace: Workspace, line: Line) -> None:
    menu = services.create_menu(
        workspace,
        name="m",
        chat_bar_text="x",
        width=2500,
        height=843,
        image=generate(2500, 843, ["x"]),
    )
    services.save_areas(
        menu,
        [
            {
                "x": 0,
                "y": 0,
                "width": 100,
                "height": 100,
                "type": "uri",
                "value": "https://example.com/coupon",
            }
        ],
    )
    body = services.line_object(menu)
    uri = body["areas"][0]["action"]["uri"]
    link = TrackedLink.objects.get(workspace=workspace, url="https://example.com/coupon")
    assert uri.endswith(f"/r/m/{link.token}")
    response = Client().get(f"/r/m/{link.token}")
    assert response.status_code == 302 and response["Location"] == "https://example.com/coupon"
    assert Click.objects.filter(link=link, contact=None).count() == 1
    assert Client().get("/r/m/forged-token").status_code == 404
