"""The send calls Otodoke makes, on W's LINE transports (`otodoke.line.client`).

Bodies are built from stored rows only (batch, payload, frozen recipients), so every retry of a
batch is byte-for-byte the request its retry key was first used with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from otodoke.line.client import (
    AsyncLineTransport,
    LineApiError,
    LineRateLimitError,
    LineRetryKeyAcceptedError,
    LineTransportError,
)

SEND_PATHS = {
    "push": "/v2/bot/message/push",
    "multicast": "/v2/bot/message/multicast",
    "broadcast": "/v2/bot/message/broadcast",
}

OutcomeKind = Literal["sent", "retry", "rate_limited", "failed", "quota", "auth"]


def request_body(
    endpoint: str, messages: list[dict[str, Any]], to: list[str], notification_disabled: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": messages}
    if endpoint == "push":
        body["to"] = to[0]
    elif endpoint == "multicast":
        body["to"] = to
    if notification_disabled:
        body["notificationDisabled"] = True
    return body


@dataclass
class SendOutcome:
    kind: OutcomeKind
    # False only when we got no answer at all: LINE may have accepted the request.
    answered: bool
    http_status: int | None = None
    request_id: str = ""
    accepted_request_id: str = ""
    error: str = ""
    details: list[dict[str, Any]] | None = None


def classify(exc: LineApiError) -> SendOutcome:
    """LINE's retry guidance: 409 = already accepted; 5xx/no answer = retry with the same key;
    429 = wait (rate) or pause (monthly quota); 401/403 = stop; other 4xx = this batch failed."""

    def outcome(kind: OutcomeKind, answered: bool) -> SendOutcome:
        return SendOutcome(
            kind,
            answered,
            http_status=exc.status,
            request_id=exc.request_id or "",
            accepted_request_id=exc.accepted_request_id or "",
            error=exc.describe()[:2000],
            details=exc.details,
        )

    if isinstance(exc, LineRetryKeyAcceptedError):
        return outcome("sent", True)
    if isinstance(exc, LineTransportError):
        return outcome("retry", False)
    if isinstance(exc, LineRateLimitError):
        return outcome("quota" if exc.kind == "monthly_limit" else "rate_limited", True)
    if exc.status in (401, 403):
        return outcome("auth", True)
    if exc.transient:
        return outcome("retry", True)
    return outcome("failed", True)


async def send_batch(
    transport: AsyncLineTransport, endpoint: str, body: dict[str, Any], retry_key: str
) -> SendOutcome:
    try:
        response = await transport.request(
            "POST", SEND_PATHS[endpoint], json_body=body, retry_key=retry_key
        )
    except LineApiError as exc:
        return classify(exc)
    return SendOutcome(
        "sent", True, http_status=response.status, request_id=response.request_id or ""
    )
