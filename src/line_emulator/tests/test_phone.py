import httpx

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text


def test_phone_page_shows_a_sent_text(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    api.post("/v2/bot/message/push", json={"to": user, "messages": text("セール開催中 <b>")})
    page = httpx.get(f"{emulator.url}/_emulator/phone/{emulator.channel.channel_id}/{user}")
    assert page.status_code == 200
    assert "セール開催中 &lt;b&gt;" in page.text
    index = httpx.get(f"{emulator.url}/_emulator")
    assert user in index.text


def test_tapping_a_flex_link_records_the_click_and_redirects(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    button = {
        "type": "button",
        "action": {"type": "uri", "label": "見る", "uri": "https://example.com/sale"},
    }
    flex = {
        "type": "flex",
        "altText": "sale",
        "contents": {
            "type": "bubble",
            "body": {"type": "box", "layout": "vertical", "contents": [button]},
        },
    }
    sent = api.post("/v2/bot/message/push", json={"to": user, "messages": [flex]})
    page = httpx.get(f"{emulator.url}/_emulator/phone/{emulator.channel.channel_id}/{user}")
    start = page.text.index('href="/_emulator/click?') + len('href="')
    link = page.text[start : page.text.index('"', start)].replace("&amp;", "&")

    tapped = httpx.get(f"{emulator.url}{link}")

    assert tapped.status_code == 302
    assert tapped.headers["location"] == "https://example.com/sale"
    [click] = control.get("/clicks").json()["clicks"]
    assert click["user_id"] == user
    assert click["url"] == "https://example.com/sale"
    assert click["request_id"] == sent.headers["x-line-request-id"]


def test_open_link_action_reports_the_redirect_without_following_it(
    control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    target = f"{emulator.url}/_emulator/click?c={emulator.channel.channel_id}&u={user}&url=https://example.com/x"
    result = control.post(f"/friends/{user}/open-link", json={"url": target}).json()
    assert result["status"] == 302
    assert result["location"] == "https://example.com/x"
