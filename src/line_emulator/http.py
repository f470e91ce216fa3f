"""Helpers every endpoint module uses: auth, LINE's error bodies, rate limits, retry keys."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from line_emulator.state import AcceptedRetryKey, Channel, Emulator

RATE_LIMIT_MESSAGE = "The API rate limit has been exceeded. Try again later."
MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."
RETRY_KEY_TTL = timedelta(hours=24)
RETRY_KEY_HEADER = "x-line-retry-key"


# Starlette's JSONResponse options; json.dumps with non-default options builds a new encoder
# on every call, which the send endpoints would pay per request.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":"))


class LineJSONResponse(JSONResponse):
    """Starlette's JSONResponse, byte for byte, from one shared encoder."""

    def render(self, content: Any) -> bytes:
        return _ENCODER.encode(content).encode("utf-8")


class LineError(Exception):
    """Raised anywhere in a handler; the app turns it into LINE's error response."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers or {}
        self.extra = extra or {}

    def response(self) -> LineJSONResponse:
        return line_error(self.status, self.message, self.details, self.headers, self.extra)


def line_error(
    status: int,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> LineJSONResponse:
    """LINE's error body: `message`, plus `details` only when there are any."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    if extra:
        body.update(extra)
    return LineJSONResponse(body, status_code=status, headers=headers)


def body_errors(details: list[dict[str, str]]) -> LineError:
    return LineError(400, f"The request body has {len(details)} error(s)", details)


def get_emulator(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def request_id(request: Request) -> str:
    """The X-Line-Request-Id the middleware chose for this request."""
    rid: str = request.scope["state"]["line_request_id"]
    return rid


async def authenticate(request: Request) -> Channel:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LineError(
            401,
            "Authentication failed due to the following reason: no access token. "
            "Confirm that the access token in the authorization header is valid.",
        )
    channel = get_emulator(request).channels_by_token.get(token.strip())
    if channel is None:
        raise LineError(
            401,
            "Authentication failed due to the following reason: invalid token. "
            "Confirm that the access token in the authorization header is valid.",
        )
    return channel


def check_rate_limit(emulator: Emulator, channel: Channel, endpoint_key: str) -> None:
    """Take a token from the channel's bucket for this endpoint, or raise LINE's 429."""
    if not emulator.take_rate_token(channel, endpoint_key):
        raise LineError(429, RATE_LIMIT_MESSAGE)


async def read_json(request: Request, max_bytes: int | None = None) -> Any:
    """Parse the body; a body over the cap is 413 and bad JSON is LINE's 400."""
    body = await request.body()
    limit = max_bytes if max_bytes is not None else get_emulator(request).config.max_body_bytes
    if len(body) > limit:
        raise LineError(413, "Request Entity Too Large")
    try:
        # orjson parses a multicast's 500 IDs several times faster. It accepts a subset of what
        # json.loads does (no NaN, BOM, UTF-16, lone surrogates or ints over 64 bits) and
        # returns the same values, so anything it refuses goes through json.loads as before.
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except ValueError as exc:
        line, column = getattr(exc, "lineno", 1), getattr(exc, "colno", 1)
        raise LineError(
            400, f"The request body could not be parsed as JSON (line: {line}, column: {column})"
        ) from exc


async def read_json_object(request: Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise LineError(400, "The request body could not be parsed as JSON (line: 1, column: 1)")
    return data


# --- retry keys ----------------------------------------------------------------------------


def retry_key_of(request: Request, supported: bool) -> str | None:
    """The X-Line-Retry-Key header, validated: 400 where unsupported or when not a UUID."""
    key = request.headers.get(RETRY_KEY_HEADER)
    if key is None:
        return None
    if not supported:
        raise LineError(400, "The X-Line-Retry-Key header is not supported for this endpoint")
    try:
        parsed = uuid.UUID(key)
    except ValueError:
        parsed = None
    # LINE takes only the hyphenated hex form, e.g. 123e4567-e89b-12d3-a456-426614174000.
    if parsed is None or str(parsed) != key.lower():
        raise LineError(400, "The value of the X-Line-Retry-Key header is invalid")
    return key.lower()


def check_retry_key(
    emulator: Emulator, channel: Channel, key: str | None, include_sent_messages: bool = False
) -> None:
    """Raise the 409 if this key was accepted within the last 24 hours (emulator clock).

    Callers must not await between this check and `accept_retry_key`: both run in one step of
    the event loop, so two concurrent requests with one key can never both deliver.
    """
    if key is None:
        return
    accepted = channel.retry_keys.get(key)
    if accepted is None:
        return
    if emulator.now() - accepted.accepted_at >= RETRY_KEY_TTL:
        del channel.retry_keys[key]
        return
    extra: dict[str, Any] = {}
    if include_sent_messages:
        extra["sentMessages"] = accepted.sent_messages
    raise LineError(
        409,
        "The retry key is already accepted",
        headers={"x-line-accepted-request-id": accepted.request_id},
        extra=extra,
    )


def accept_retry_key(
    emulator: Emulator,
    channel: Channel,
    key: str | None,
    accepted_request_id: str,
    sent_messages: list[dict[str, str]] | None = None,
) -> None:
    if key is not None:
        channel.retry_keys[key] = AcceptedRetryKey(
            accepted_request_id, emulator.now(), sent_messages or []
        )
