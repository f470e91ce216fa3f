"""The phone page's message box sends the friend's text to the account as a signed webhook."""

from __future__ import annotations

import httpx

from line_emulator.testing import TEST_CHANNEL_ID, EmulatorServer

USER = "U" + "e" * 32


def test_typing_on_the_phone_page_posts_a_message_webhook(emulator: EmulatorServer) -> None:
    control = f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}"
    httpx.post(f"{control}/friends/{USER}/follow", json={"display_name": "はな"}).raise_for_status()
    phone = f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{USER}"
    assert 'data-testid="phone-text"' in httpx.get(phone).text

    sent = httpx.post(f"{phone}/send", data={"text": "予約したいです"})
    assert sent.status_code == 303 and sent.headers["location"].endswith(USER)

    events = [
        e
        for w in httpx.get(f"{control}/webhooks").json()["deliveries"]
        for e in w["events"]
        if e["type"] == "message"
    ]
    assert [e["message"]["text"] for e in events] == ["予約したいです"]
    assert events[0]["replyToken"]
