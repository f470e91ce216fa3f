"""The phone page shows the rich menu the friend sees (per-user link, else the default) and a
tap on an area does what LINE's app does: a postback, a message, a date picker's answer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends
from line_emulator.tests.live import Line, line_on
from line_emulator.tests.test_richmenu import png

MENU: dict[str, Any] = {
    "size": {"width": 2500, "height": 843},
    "selected": True,
    "name": "menu",
    "chatBarText": "タップ",
    "areas": [
        {"bounds": {"x": 0, "y": 0, "width": 800, "height": 843},
         "action": {"type": "postback", "data": "reserve", "label": "予約"}},
        {"bounds": {"x": 800, "y": 0, "width": 800, "height": 843},
         "action": {"type": "message", "text": "営業時間は?"}},
        {"bounds": {"x": 1600, "y": 0, "width": 900, "height": 843},
         "action": {"type": "datetimepicker", "data": "when", "mode": "date"}},
    ],
}  # fmt: skip


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[Line]:
    with line_on(emulator) as running:
        yield running


def _menu(line: Line) -> str:
    menu_id: str = line.client.post("/v2/bot/richmenu", json=MENU).json()["richMenuId"]
    line.client.post(
        f"/v2/bot/richmenu/{menu_id}/content",
        content=png(2500, 843),
        headers={"content-type": "image/png"},
    ).raise_for_status()
    return menu_id


def test_the_phone_shows_the_menu_and_taps_post_events(
    line: Line, emulator: EmulatorServer, control: httpx.Client
) -> None:
    friend, other = make_friends(control, 2)
    phone = f"{emulator.url}/_emulator/phone/{emulator.channel.channel_id}/{friend}"
    assert 'data-testid="richmenu"' not in httpx.get(phone).text  # no menu yet
    menu_id = _menu(line)
    line.client.post(f"/v2/bot/user/{friend}/richmenu/{menu_id}").raise_for_status()
    page = httpx.get(phone).text
    assert f'data-richmenu-id="{menu_id}"' in page and "タップ ▾" in page
    other_page = f"{emulator.url}/_emulator/phone/{emulator.channel.channel_id}/{other}"
    assert 'data-testid="richmenu"' not in httpx.get(other_page).text  # not linked, no default

    taps = re.findall(r'action="([^"]+/richmenu/[^"]+/\d)"', page)
    assert len(taps) == 3
    for tap in taps:
        answer = httpx.post(f"{emulator.url}{tap}", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].endswith(friend)
    events = [e for d in control.get("/webhooks").json()["deliveries"] for e in d["events"]]
    assert [e["type"] for e in events] == ["postback", "message", "postback"]
    assert events[0]["postback"] == {"data": "reserve"}
    assert events[1]["message"]["text"] == "営業時間は?"
    assert events[2]["postback"]["data"] == "when"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", events[2]["postback"]["params"]["date"])

    # A tap on a menu the friend no longer sees is refused.
    line.client.delete(f"/v2/bot/user/{friend}/richmenu").raise_for_status()
    assert httpx.post(f"{emulator.url}{taps[0]}", follow_redirects=False).status_code == 404
