"""Friends send stickers, images, files and locations (control API and phone page); the
content of images and files is served by GET /v2/bot/message/{messageId}/content to the
channel's own token only, as LINE's api-data.line.me does."""

from __future__ import annotations

import httpx

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends


def sent_message(emulator: EmulatorServer) -> dict[str, object]:
    delivery = emulator.channel.webhook_deliveries[-1]
    message: dict[str, object] = delivery.events[-1]["message"]
    return message


def test_an_image_a_friend_sends_is_served_as_png_to_the_channel_only(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)

    answer = control.post(f"/friends/{user}/send", json={"type": "image"})

    assert answer.status_code == 200, answer.text
    message = sent_message(emulator)
    assert message["type"] == "image"
    assert message["contentProvider"] == {"type": "line"}
    content = api.get(f"/v2/bot/message/{message['id']}/content")
    assert content.status_code == 200
    assert content.headers["content-type"] == "image/png"
    assert content.content.startswith(b"\x89PNG\r\n\x1a\n")
    anonymous = httpx.get(f"{emulator.url}/v2/bot/message/{message['id']}/content")
    assert anonymous.status_code == 401
    assert api.get("/v2/bot/message/123/content").status_code == 404


def test_stickers_files_and_locations_carry_lines_fields(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)

    control.post(f"/friends/{user}/send", json={"type": "sticker", "stickerId": "1989"})
    sticker = sent_message(emulator)
    control.post(f"/friends/{user}/send", json={"type": "file", "fileName": "menu.pdf"})
    file = sent_message(emulator)
    control.post(f"/friends/{user}/send", json={"type": "location", "title": "店"})
    location = sent_message(emulator)

    assert (sticker["packageId"], sticker["stickerId"]) == ("446", "1989")
    assert file["fileName"] == "menu.pdf" and isinstance(file["fileSize"], int)
    assert api.get(f"/v2/bot/message/{file['id']}/content").status_code == 200
    assert location["title"] == "店" and isinstance(location["latitude"], float)
    bad = control.post(f"/friends/{user}/send", json={"type": "video"})
    assert bad.status_code == 400


def test_the_phone_page_sends_what_the_friend_types(
    control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    phone = f"{emulator.url}/_emulator/phone/{emulator.channel.channel_id}/{user}"
    assert 'name="text"' in httpx.get(phone).text

    sent = httpx.post(f"{phone}/send", data={"text": "予約したいです", "kind": "text"})
    assert sent.status_code == 303
    assert sent_message(emulator) == {**sent_message(emulator), "text": "予約したいです"}
    httpx.post(f"{phone}/send", data={"sticker": "446/2002"})
    assert sent_message(emulator)["stickerId"] == "2002"
    httpx.post(f"{phone}/send", data={"kind": "location"})
    assert sent_message(emulator)["type"] == "location"
