"""The webhook endpoint test (`POST /v2/bot/channel/webhook/test`): the "Verify" button of the
LINE Developers console as an API. The emulator posts a signed body with no events to the URL
given (or the channel's webhook URL) and answers with what happened, as LINE does: HTTP 200
either way, `success` saying whether the bot answered 2xx in time."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.http import (
    LineError,
    authenticate,
    check_rate_limit,
    get_emulator,
    read_json_object,
    retry_key_of,
)
from line_emulator.webhooks import webhook_sender

ENDPOINT_MAX_LENGTH = 500


def _endpoint(body: dict[str, Any], default: str | None) -> str:
    value = body.get("endpoint")
    if value is None:
        if not default:
            raise LineError(400, "The webhook endpoint is not set")
        return default
    problem = ""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        problem = "Invalid webhook endpoint URL"
    elif len(value) > ENDPOINT_MAX_LENGTH:
        problem = f"Size must be between 0 and {ENDPOINT_MAX_LENGTH}"
    if problem:
        raise LineError(
            400, "The request body has 1 error(s)", [{"message": problem, "property": "endpoint"}]
        )
    return str(value)


async def verify_endpoint(request: Request) -> Response:
    channel = await authenticate(request)
    retry_key_of(request, supported=False)
    emulator = get_emulator(request)
    check_rate_limit(emulator, channel, "webhook.test")
    body = await read_json_object(request) if await request.body() else {}
    url = _endpoint(body, channel.config.webhook_url)
    attempt = await webhook_sender(emulator).check_endpoint(channel, url)
    # No answer at all (timeout, refused connection) is status 0, as LINE documents.
    status = attempt.status_code or 0
    if attempt.error is None:
        reason, detail = "OK", str(status)
    elif attempt.error == "error_status_code":
        reason, detail = "ERROR_STATUS_CODE", str(status)
    else:
        reason, detail = attempt.error.upper(), attempt.detail
    timestamp = attempt.time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return JSONResponse(
        {
            "success": attempt.error is None,
            "timestamp": timestamp,
            "statusCode": status,
            "reason": reason,
            "detail": detail,
        }
    )


routes: list[BaseRoute] = [
    Route("/v2/bot/channel/webhook/test", verify_endpoint, methods=["POST"]),
]
