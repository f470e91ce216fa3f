"""The phone page's message box: the simulated friend types a text or sends a sticker, a
generated image or a location, which posts the webhook like the LINE app would."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.actions import UnknownFriendError
from line_emulator.content import PHONE_STICKERS, send_message
from line_emulator.control_friends import channel_or_404
from line_emulator.http import LineError, get_emulator

COMPOSE_STYLE = """
.compose{position:sticky;bottom:0;background:#f5f5f5;padding:8px;display:flex;flex-wrap:wrap;
  gap:6px}.compose input[type=text]{flex:1 1 60%;padding:8px;border-radius:16px;
  border:1px solid #ccc}.compose button{padding:6px 10px;border-radius:14px;border:1px solid #bbb;
  background:#fff}
"""


def compose_form(channel_id: str, user_id: str) -> str:
    action = f"/_emulator/phone/{escape(channel_id)}/{escape(user_id)}/send"
    stickers = "".join(
        f'<button name="sticker" value="{p}/{s}" title="sticker {p}/{s}">🧸{s}</button>'
        for p, s in PHONE_STICKERS[:2]
    )
    return (
        f"<style>{COMPOSE_STYLE}</style>"
        f'<form class="compose" method="post" action="{action}">'
        '<input type="text" name="text" aria-label="Message" placeholder="Aa" autocomplete="off" '
        'data-testid="phone-text">'
        '<button name="kind" value="text" data-testid="phone-send">Send</button>'
        f"{stickers}"
        '<button name="kind" value="image">📷 Image</button>'
        '<button name="kind" value="location">📍 Location</button>'
        "</form>"
    )


async def phone_send(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = channel_or_404(emulator, request.path_params["channel_id"])
    user_id = request.path_params["user_id"]
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    if "sticker" in form:
        package, _, sticker = form["sticker"].partition("/")
        spec: dict[str, object] = {"type": "sticker", "packageId": package, "stickerId": sticker}
    elif form.get("kind") in ("image", "location"):
        spec = {"type": form["kind"]}
    else:
        text = form.get("text", "").strip()
        if not text:
            return RedirectResponse(f"/_emulator/phone/{channel.channel_id}/{user_id}", 303)
        spec = {"type": "text", "text": text}
    try:
        await send_message(emulator, channel, user_id, spec)
    except UnknownFriendError:
        raise LineError(404, "No such friend") from None
    return RedirectResponse(f"/_emulator/phone/{channel.channel_id}/{user_id}", 303)


routes: list[BaseRoute] = [
    Route("/_emulator/phone/{channel_id}/{user_id}/send", phone_send, methods=["POST"]),
]
