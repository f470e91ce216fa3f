"""LINE API errors, split into permanent (never retry the same request) and transient.

Callers decide what to do from three facts: `permanent`, the subclass (rate limit, retry key
already accepted, transport failure) and, for 429, its `kind`. The split follows LINE's retry
guidance: retry 5xx and timeouts with the same retry key, never retry 2xx, 409 or other 4xx.
"""

from __future__ import annotations

from typing import Any, Literal

RateLimitKind = Literal["rate_limit", "monthly_limit", "other"]

# Statuses whose request will fail the same way however often it is repeated.
PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 405, 413, 415, 422})


class LineApiError(Exception):
    """An answer from LINE that is not a success, or no answer at all (`status` None)."""

    def __init__(
        self,
        status: int | None,
        message: str,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        accepted_request_id: str | None = None,
        permanent: bool = True,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status or 'no response'}: {message}")
        self.status = status
        self.message = message
        self.details = details or []
        self.request_id = request_id
        self.accepted_request_id = accepted_request_id
        self.permanent = permanent
        self.body = body or {}

    @property
    def transient(self) -> bool:
        return not self.permanent

    def describe(self) -> str:
        """One line for logs and `last_error` columns: status, message and field details."""
        text = f"LINE {self.status or 'transport'}: {self.message}"
        if self.details:
            text += (
                " ("
                + "; ".join(
                    f"{d.get('property', '')}: {d.get('message', '')}" for d in self.details
                )
                + ")"
            )
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text


class LineRateLimitError(LineApiError):
    """429. `kind` tells a token-bucket rate limit (wait and retry) from the monthly message
    quota (pause the campaign; retrying soon will not help) — LINE only says which in the text."""

    def __init__(self, *args: Any, kind: RateLimitKind, **kwargs: Any) -> None:
        kwargs["permanent"] = False
        super().__init__(*args, **kwargs)
        self.kind = kind


class LineRetryKeyAcceptedError(LineApiError):
    """409: a request with this X-Line-Retry-Key was already accepted within 24 hours.

    The message went out; the caller counts it as sent. `accepted_request_id` names the
    original request and, for push, `sent_messages` carries the original message IDs.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["permanent"] = True
        super().__init__(*args, **kwargs)

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        value = self.body.get("sentMessages")
        return value if isinstance(value, list) else []


class LineTransportError(LineApiError):
    """No usable answer: timeout, refused or dropped connection, or a body that is not LINE's.

    Always transient. After a timeout the request may or may not have been processed; that is
    exactly what retry keys exist for.
    """

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(None, message, permanent=False)
        self.timeout = timeout


def rate_limit_kind(message: str) -> RateLimitKind:
    lowered = message.lower()
    if "monthly limit" in lowered:
        return "monthly_limit"
    if "rate limit" in lowered:
        return "rate_limit"
    return "other"
