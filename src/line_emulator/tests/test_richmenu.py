"""Rich menus over real HTTP: create, image, per-user, default and bulk links."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from line_emulator.richmenu import menu_for
from line_emulator.testing import EmulatorServer
from line_emulator.tests.live import Line, line_on

MENU: dict[str, Any] = {
    "size": {"width": 2500, "height": 1686},
    "selected": False,
    "name": "main menu",
    "chatBarText": "メニュー",
    "areas": [
        {
            "bounds": {"x": 0, "y": 0, "width": 1250, "height": 1686},
            "action": {"type": "uri", "uri": "https://shop.example/"},
        }
    ],
}


def png(width: int, height: int) -> bytes:
    """A real PNG: LINE checks the image is the menu's size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG")
    return out.getvalue()


PNG = png(2500, 1686)


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[Line]:
    with line_on(emulator) as running:
        yield running


def create(line: Line, with_image: bool = True) -> str:
    response = line.client.post("/v2/bot/richmenu", json=MENU)
    assert response.status_code == 200
    menu_id: str = response.json()["richMenuId"]
    if with_image:
        uploaded = line.client.post(
            f"/v2/bot/richmenu/{menu_id}/content",
            content=PNG,
            headers={"content-type": "image/png"},
        )
        assert uploaded.status_code == 200
    return menu_id


def test_create_get_list_delete(line: Line) -> None:
    menu_id = create(line)
    assert line.client.get(f"/v2/bot/richmenu/{menu_id}").json() == {"richMenuId": menu_id, **MENU}
    listed = line.client.get("/v2/bot/richmenu/list").json()["richmenus"]
    assert [m["richMenuId"] for m in listed] == [menu_id]
    assert line.client.get(f"/v2/bot/richmenu/{menu_id}/content").content == PNG
    assert line.client.delete(f"/v2/bot/richmenu/{menu_id}").status_code == 200
    assert line.client.get(f"/v2/bot/richmenu/{menu_id}").status_code == 404


def test_invalid_menu_objects_are_rejected(line: Line) -> None:
    narrow = {**MENU, "size": {"width": 2500, "height": 2000}}
    assert line.client.post("/v2/bot/richmenu", json=narrow).status_code == 400
    outside = {
        **MENU,
        "areas": [{**MENU["areas"][0], "bounds": {"x": 2000, "y": 0, "width": 1000, "height": 10}}],
    }
    response = line.client.post("/v2/bot/richmenu", json=outside)
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "areas[0].bounds"
    long_bar = {**MENU, "chatBarText": "x" * 15}
    assert line.client.post("/v2/bot/richmenu", json=long_bar).status_code == 400


def test_per_user_link_beats_the_default(line: Line) -> None:
    alice, bob = line.friends(2)
    default, personal = create(line), create(line)
    assert line.client.post(f"/v2/bot/user/all/richmenu/{default}").status_code == 200
    assert line.client.post(f"/v2/bot/user/{alice}/richmenu/{personal}").status_code == 200
    assert line.client.get(f"/v2/bot/user/{alice}/richmenu").json() == {"richMenuId": personal}
    assert line.client.get(f"/v2/bot/user/{bob}/richmenu").status_code == 404
    assert line.client.get("/v2/bot/user/all/richmenu").json() == {"richMenuId": default}
    assert (menu_for(line.channel, alice), menu_for(line.channel, bob)) != (None, None)
    assert menu_for(line.channel, bob).menu_id == default  # type: ignore[union-attr]

    assert line.client.delete(f"/v2/bot/user/{alice}/richmenu").status_code == 200
    assert line.client.get(f"/v2/bot/user/{alice}/richmenu").status_code == 404


def test_link_needs_an_image_and_a_known_menu(line: Line) -> None:
    user_id = line.friends(1)[0]
    bare = create(line, with_image=False)
    assert line.client.post(f"/v2/bot/user/{user_id}/richmenu/{bare}").status_code == 400
    missing = "richmenu-" + "0" * 32
    assert line.client.post(f"/v2/bot/user/{user_id}/richmenu/{missing}").status_code == 404


def test_bulk_link_and_unlink(line: Line) -> None:
    users = line.friends(3)
    menu_id = create(line)
    linked = line.client.post(
        "/v2/bot/richmenu/bulk/link", json={"richMenuId": menu_id, "userIds": users}
    )
    assert (linked.status_code, linked.json()) == (202, {})
    assert all(
        line.client.get(f"/v2/bot/user/{u}/richmenu").json()["richMenuId"] == menu_id for u in users
    )
    unlinked = line.client.post("/v2/bot/richmenu/bulk/unlink", json={"userIds": users[:2]})
    assert unlinked.status_code == 202
    assert line.client.get(f"/v2/bot/user/{users[0]}/richmenu").status_code == 404
    assert line.client.get(f"/v2/bot/user/{users[2]}/richmenu").status_code == 200


def test_bulk_link_limits(line: Line) -> None:
    menu_id = create(line)
    too_many = ["U" + f"{n:032x}" for n in range(501)]
    response = line.client.post(
        "/v2/bot/richmenu/bulk/link", json={"richMenuId": menu_id, "userIds": too_many}
    )
    assert response.status_code == 400
    unknown = line.client.post(
        "/v2/bot/richmenu/bulk/link",
        json={"richMenuId": "richmenu-" + "f" * 32, "userIds": too_many[:1]},
    )
    assert unknown.status_code == 404


def test_an_image_of_another_size_than_the_menu_is_refused(line: Line) -> None:
    menu_id = create(line, with_image=False)
    wrong = line.client.post(
        f"/v2/bot/richmenu/{menu_id}/content",
        content=png(2500, 843),
        headers={"content-type": "image/png"},
    )
    assert wrong.status_code == 400
    assert "size" in wrong.json()["message"]
    garbage = line.client.post(
        f"/v2/bot/richmenu/{menu_id}/content",
        content=b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        headers={"content-type": "image/png"},
    )
    assert garbage.status_code == 400


def test_aliases_follow_lines_rules(line: Line) -> None:
    first, second, bare = create(line), create(line), create(line, with_image=False)
    made = line.client.post(
        "/v2/bot/richmenu/alias", json={"richMenuAliasId": "tab-a", "richMenuId": first}
    )
    assert made.status_code == 200
    again = line.client.post(
        "/v2/bot/richmenu/alias", json={"richMenuAliasId": "tab-a", "richMenuId": second}
    )
    assert again.status_code == 400
    bad = line.client.post(
        "/v2/bot/richmenu/alias", json={"richMenuAliasId": "Tab A", "richMenuId": first}
    )
    assert bad.status_code == 400 and bad.json()["details"][0]["property"] == "richMenuAliasId"
    no_image = line.client.post(
        "/v2/bot/richmenu/alias", json={"richMenuAliasId": "tab-b", "richMenuId": bare}
    )
    assert no_image.status_code == 400
    moved = line.client.post("/v2/bot/richmenu/alias/tab-a", json={"richMenuId": second})
    assert moved.status_code == 200
    assert line.client.get("/v2/bot/richmenu/alias/tab-a").json()["richMenuId"] == second
    listed = line.client.get("/v2/bot/richmenu/alias/list").json()["aliases"]
    assert listed == [{"richMenuAliasId": "tab-a", "richMenuId": second}]
    assert line.client.delete("/v2/bot/richmenu/alias/tab-a").status_code == 200
    assert line.client.get("/v2/bot/richmenu/alias/tab-a").status_code == 404
