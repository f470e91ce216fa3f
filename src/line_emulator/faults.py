"""Injected latency and faults, switchable at runtime through EmulatorConfig.faults/latency.

Kinds: "500", "429", "400", "401", "403", "timeout-before", "timeout-after", "drop-before",
"drop-after". "-before" means the request is lost before LINE accepts it (nothing happens);
"-after" means it was fully processed (delivered, retry key locked) but the client never gets
the answer. "400", "401" and "403" answer with LINE's own error bodies and process nothing.

Every answer on a LINE API path is also tallied (`Emulator.responses`) with the client's port,
so tests can count 429s and tell which connection (and so which process) sent what.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from line_emulator.http import RATE_LIMIT_MESSAGE, RETRY_KEY_HEADER
from line_emulator.middleware import send_json
from line_emulator.state import Emulator, ResponseRecord

FAULT_KINDS: Final = (
    "500",
    "429",
    "400",
    "401",
    "403",
    "timeout-before",
    "timeout-after",
    "drop-before",
    "drop-after",
)


# The request log's status for a request whose client went away before it was answered
# (it timed out or closed the connection while the request was still being read).
CLIENT_CLOSED: Final = "client_closed"
# … and for one the emulator failed to answer because of an error of its own.
SERVER_ERROR: Final = "server_error"


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
    if faults.error_400 and rng.random() < faults.error_400:
        return "400"
    return None


def take_scripted_answer(emulator: Emulator, method: str, path: str) -> dict[str, Any] | None:
    """The first scripted answer for this method and path, removed from the script."""
    for index, answer in enumerate(emulator.scripted_answers):
        if answer["method"] == method and answer["path"] == path:
            return emulator.scripted_answers.pop(index)
    return None


# LINE's bodies for the injected client errors (LINE_PLATFORM.md §2.3). The 400 is the one a
# message LINE's validation rejects gets: a summary plus a `details` entry naming the field.
ERROR_BODIES: Final[dict[str, tuple[int, dict[str, Any]]]] = {
    "500": (500, {"message": "An internal server error occurred."}),
    "429": (429, {"message": RATE_LIMIT_MESSAGE}),
    "400": (
        400,
        {
            "message": "The request body has 1 error(s)",
            "details": [
                {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
            ],
        },
    ),
    "401": (
        401,
        {
            "message": "Authentication failed due to the following reason: invalid token. "
            "Confirm that the access token in the authorization header is valid."
        },
    ),
    "403": (403, {"message": "Access to this API is not available for your account"}),
}


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
        record = _record(emulator, scope)
        try:
            await self._answer(scope, receive, send, record)
        except ClientDisconnect:
            # The client went away before its request was read to the end (it timed out, or
            # closed on purpose): nothing was processed and nobody is left to answer.
            if not record.status:
                record.status = CLIENT_CLOSED
        except Exception:
            if not record.status:
                record.status = SERVER_ERROR  # the emulator's own bug; uvicorn answers 500
            raise
        finally:
            if not record.status:
                # The app ended without answering and without an error (cancelled).
                record.status = CLIENT_CLOSED

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, record: ResponseRecord
    ) -> None:
        emulator = self.emulator
        raw_send = send

        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start" and not record.status:
                record.status = str(message["status"])
            await raw_send(message)

        send = send_counted
        latency = emulator.config.latency
        delay_ms = latency.latency_ms
        if latency.jitter_ms:
            delay_ms += emulator.random.random() * latency.jitter_ms
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        answer = take_scripted_answer(emulator, str(scope["method"]), str(scope["path"]))
        if answer is not None:
            record.fault = "scripted-answer"
            await send_json(send, int(answer["status"]), answer["body"])
            return
        kind = draw_fault(emulator)
        if kind is None:
            await self.app(scope, receive, send)
            return
        stall = emulator.config.faults.timeout_seconds
        record.fault = kind
        if kind in ERROR_BODIES:
            status, body = ERROR_BODIES[kind]
            await send_json(send, status, body)
        elif kind == "timeout-before":
            record.status = "timeout"
            await asyncio.sleep(stall)
            await _drop(raw_send)
        elif kind == "drop-before":
            record.status = "dropped"
            await _drop(raw_send)
        else:
            captured = await _run_captured(self.app, scope, receive)
            if kind == "timeout-after":
                await asyncio.sleep(stall)
                for message in captured:
                    await send(message)
            else:
                record.status = "dropped"
                await _drop(raw_send)


def _record(emulator: Emulator, scope: Scope) -> ResponseRecord:
    """Log one LINE API request; its status is filled in when the answer starts."""
    client = scope.get("client")
    headers = dict(scope.get("headers") or [])
    record = ResponseRecord(
        method=str(scope["method"]),
        path=str(scope["path"]),
        client_port=int(client[1]) if client else None,
        retry_key=headers.get(RETRY_KEY_HEADER.encode(), b"").decode() or None,
    )
    emulator.responses.append(record)
    return record


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
        return not isinstance(exc, DroppedConnection | ClientDisconnect)


def quiet_dropped_connection_logs() -> None:
    """Injected drops are expected; keep them out of the server's error log."""
    logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())
