"""ASGI middleware: X-Line-Request-Id on every response and LINE's 2 MB body cap.

Written as plain ASGI callables (not BaseHTTPMiddleware) because they sit on the hot path.
"""

from __future__ import annotations

import json
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = b"x-line-request-id"
# Audience files go to LINE's api-data host, which takes up to 1,500,000 IDs per file, far
# over the 2 MB JSON cap; the emulator serves that host's paths on its one host.
FILE_UPLOAD_SUFFIX = "/byFile"
FILE_UPLOAD_MAX_BYTES = 64 * 1024 * 1024


class RequestIdMiddleware:
    """Give every HTTP request a fresh ID, visible to handlers and sent back as a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id()
        scope.setdefault("state", {})["line_request_id"] = rid
        header = (REQUEST_ID_HEADER, rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == REQUEST_ID_HEADER for name, _ in headers):
                    headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # the version nibble and the RFC 4122 variant
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)


def new_request_id() -> str:
    """A random (version 4) UUID string, as str(uuid.uuid4()) gives, in half its time."""
    hex_ = f"{int.from_bytes(os.urandom(16)) & _KEEP | _VERSION_4:032x}"
    return f"{hex_[:8]}-{hex_[8:12]}-{hex_[12:16]}-{hex_[16:20]}-{hex_[20:]}"


class BodyLimitMiddleware:
    """Answer 413 before reading a body whose declared length is over the cap.

    Chunked bodies without Content-Length are checked again when handlers read them.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            large = str(scope.get("path", "")).endswith(FILE_UPLOAD_SUFFIX)
            limit = FILE_UPLOAD_MAX_BYTES if large else self.max_bytes
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if value.isdigit() and int(value) > limit:
                        await send_json(send, 413, {"message": "Request Entity Too Large"})
                        return
                    break
        await self.app(scope, receive, send)


async def send_json(send: Send, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
