"""Message content: what friends sent that LINE keeps as a blob (images, files), served by
`GET /v2/bot/message/{messageId}/content` on api-data.line.me, and the actions by which a
simulated friend sends stickers, images, files and locations (control API and phone page).

State per channel in `channel.extensions["content"]`: message ID → (bytes, content type).
Only the channel whose friend sent the message can download it, as at LINE (404 otherwise).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from line_emulator.actions import UnknownFriendError, friend_of
from line_emulator.control_friends import PREFIX, channel_or_404
from line_emulator.http import LineError, authenticate, get_emulator, read_json_object
from line_emulator.serialize import friend_json, webhook_json
from line_emulator.state import Channel, Emulator, Friend, WebhookDelivery
from line_emulator.webhooks import make_event, webhook_sender

# LINE's standard sticker packages a friend can send from the phone page.
PHONE_STICKERS = [("446", "1988"), ("446", "1989"), ("446", "2002"), ("789", "10855")]
MESSAGE_KINDS = ("text", "sticker", "image", "file", "location")


@dataclass
class ContentState:
    blobs: dict[str, tuple[bytes, str]] = field(default_factory=dict)


def content_state(channel: Channel) -> ContentState:
    found = channel.extensions.get("content")
    if not isinstance(found, ContentState):
        found = channel.extensions["content"] = ContentState()
    return found


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG, written by hand so the emulator needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _message_id(emulator: Emulator) -> str:
    return str(emulator.random.randrange(10**17, 10**18))


def build_message(emulator: Emulator, channel: Channel, spec: dict[str, Any]) -> dict[str, Any]:
    """A friend's message object as LINE's webhook carries it, from a short spec:
    {"type": "sticker", "packageId", "stickerId"} | {"type": "image"} (a generated PNG) |
    {"type": "file", "fileName", "text"} | {"type": "location", "title", "address",
    "latitude", "longitude"} | {"type": "text", "text"}. Content is kept for download."""
    kind = spec.get("type")
    rng = emulator.random
    message: dict[str, Any] = {"type": kind, "id": _message_id(emulator)}
    if kind in ("text", "sticker", "image"):
        message["quoteToken"] = f"q{rng.getrandbits(160):040x}"
    if kind == "text":
        text = spec.get("text")
        if not isinstance(text, str) or not text:
            raise LineError(400, 'Give the text: {"type": "text", "text": "..."}')
        message["text"] = text
    elif kind == "sticker":
        message["packageId"] = str(spec.get("packageId") or "446")
        message["stickerId"] = str(spec.get("stickerId") or "1988")
        message["stickerResourceType"] = "STATIC"
        message["keywords"] = []
    elif kind == "image":
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        data = png(64, 48, colour)
        message["contentProvider"] = {"type": "line"}
        content_state(channel).blobs[message["id"]] = (data, "image/png")
    elif kind == "file":
        name = str(spec.get("fileName") or "memo.txt")
        data = str(spec.get("text") or "a file sent from the emulator\n").encode()
        message["fileName"] = name
        message["fileSize"] = len(data)
        content_state(channel).blobs[message["id"]] = (data, "application/octet-stream")
    elif kind == "location":
        message["title"] = str(spec.get("title") or "Location")
        message["address"] = str(spec.get("address") or "東京都渋谷区")
        try:
            message["latitude"] = float(spec.get("latitude", 35.658))
            message["longitude"] = float(spec.get("longitude", 139.7016))
        except (TypeError, ValueError):
            raise LineError(400, "latitude and longitude must be numbers") from None
    else:
        raise LineError(400, f"type must be one of {', '.join(MESSAGE_KINDS)}")
    return message


async def send_message(
    emulator: Emulator, channel: Channel, user_id: str, spec: dict[str, Any]
) -> tuple[Friend, WebhookDelivery]:
    friend = friend_of(channel, user_id)
    message = build_message(emulator, channel, spec)
    event = make_event(emulator, channel, user_id, "message", message=message)
    return friend, await webhook_sender(emulator).send(channel, [event])


async def control_send(request: Request) -> Response:
    """POST /_emulator/channels/{id}/friends/{user}/send {"type": "image"}: the friend sends
    any kind of message (the webhook goes out); answers the friend and the delivery."""
    from starlette.responses import JSONResponse

    emulator = get_emulator(request)
    channel = channel_or_404(emulator, request.path_params["channel_id"])
    user_id = request.path_params["user_id"]
    body = await read_json_object(request)
    try:
        friend, delivery = await send_message(emulator, channel, user_id, body)
    except UnknownFriendError:
        raise LineError(404, f"No friend {user_id}") from None
    return JSONResponse({"friend": friend_json(friend), "webhook": webhook_json(delivery)})


async def get_content(request: Request) -> Response:
    channel = await authenticate(request)
    found = content_state(channel).blobs.get(request.path_params["message_id"])
    if found is None:
        raise LineError(404, "Not found")
    data, content_type = found
    return Response(data, media_type=content_type)


routes: list[BaseRoute] = [
    Route("/v2/bot/message/{message_id}/content", get_content, methods=["GET"]),
    Route(f"{PREFIX}/friends/{{user_id}}/send", control_send, methods=["POST"]),
]
