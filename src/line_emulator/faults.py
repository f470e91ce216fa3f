"""Injected latency and faults, switchable at runtime through EmulatorConfig.faults/latency.

Kinds: "500", "429", "timeout-before", "timeout-after", "drop-before", "drop-after".
"-before" means the request is lost before LINE accepts it (nothing happens); "-after" means it
was fully processed (delivered, retry key locked) but the client never gets the answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from line_emulator.middleware import send_json
from line_emulator.state import Emulator

FAULT_KINDS: Final = (
    "500",
    "429",
    "timeout-before",
    "timeout-after",
    "drop-before",
    "drop-after",
)


class DroppedConnection(Exception):  # noqa: N818  # it is an event, not an error of ours
    """Raised after a partial response so the server closes the connection mid-answer."""


def draw_fault(emulator: Emulator) -> str | None:
    """Scripted faults first (tests queue exact ones), then random shares from the config."""
    if emulator.scripted_faults:
        kind = emulator.scripted_faults.pop(0)
        return None if kind == "none" else kind
    faults = emulator.config.faults
    rng = emulator.random
    if faults.error_500 and rng.random() < faults.error_500:
        return "500"
    if faults.error_429 and rng.random() < faults.error_429:
        return "429"
    if faults.timeout and rng.random() < faults.timeout:
        after = rng.random() < faults.timeout_after_accept
        return "timeout-after" if after else "timeout-before"
    if faults.drop and rng.random() < faults.drop:
        return "drop-after" if rng.random() < faults.drop_after_accept else "drop-before"
    return None


class FaultMiddleware:
    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        emulator = self.emulator
        if scope["type"] != "http" or not scope["path"].startswith(
            emulator.config.faults.path_prefixes
        ):
            await self.app(scope, receive, send)
            return
        latency = emulator.config.latency
        delay_ms = latency.latency_ms
        if latency.jitter_ms:
            delay_ms += emulator.random.random() * latency.jitter_ms
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        kind = draw_fault(emulator)
        if kind is None:
            await self.app(scope, receive, send)
            return
        stall = emulator.config.faults.timeout_seconds
        if kind == "500":
            await send_json(send, 500, {"message": "An internal server error occurred."})
        elif kind == "429":
            await send_json(
                send, 429, {"message": "The API rate limit has been exceeded. Try again later."}
            )
        elif kind == "timeout-before":
            await asyncio.sleep(stall)
            await _drop(send)
        elif kind == "drop-before":
            await _drop(send)
        else:
            captured = await _run_captured(self.app, scope, receive)
            if kind == "timeout-after":
                await asyncio.sleep(stall)
                for message in captured:
                    await send(message)
            else:
                await _drop(send)


async def _run_captured(app: ASGIApp, scope: Scope, receive: Receive) -> list[Message]:
    captured: list[Message] = []

    async def capture(message: Message) -> None:
        captured.append(message)

    await app(scope, receive, capture)
    return captured


async def _drop(send: Send) -> None:
    # ASGI cannot close a socket directly. Promising a body and raising makes the server close
    # the connection with the answer incomplete, which clients see as a protocol error.
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    raise DroppedConnection


class _HideDroppedConnections(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


def quiet_dropped_connection_logs() -> None:
    """Injected drops are expected; keep them out of the server's error log."""
    logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())
