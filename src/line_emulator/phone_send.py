"""The phone page's message box: the friend types a text and sends it to the account, which
posts the signed `message` webhook like LINE (the same as the control API's
`POST /friends/{user_id}/message`), then shows the phone again with whatever came back."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.actions import send_text
from line_emulator.control_friends import channel_or_404
from line_emulator.http import LineError, get_emulator

MAX_TEXT = 5000


def send_form(channel_id: str, user_id: str) -> str:
    action = f"/_emulator/phone/{escape(channel_id)}/{escape(user_id)}/send"
    return (
        f'<form class="send" method="post" action="{action}">'
        '<input name="text" aria-label="Message" placeholder="Aa" autocomplete="off" '
        'required data-testid="phone-text">'
        '<button type="submit" data-testid="phone-send">Send</button></form>'
    )


async def send(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = channel_or_404(emulator, request.path_params["channel_id"])
    user_id = request.path_params["user_id"]
    if user_id not in channel.friends:
        raise LineError(404, "No such friend")
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    text = (form.get("text") or [""])[0].strip()
    if text:
        await send_text(emulator, channel, user_id, text[:MAX_TEXT])
    return RedirectResponse(f"/_emulator/phone/{channel.channel_id}/{user_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/_emulator/phone/{channel_id}/{user_id}/send", send, methods=["POST"]),
]
