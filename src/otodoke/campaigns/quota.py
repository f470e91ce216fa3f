"""This month's message quota as LINE reports it: the one place Otodoke asks (the send's
pre-check, the dashboard, the campaign estimate and, later, scenarios all use `fetch_quota`).

LINE's answers are read by its OpenAPI spec: `GET /v2/bot/message/quota` requires only `type`
(`"none"` or `"limited"`; `value` is optional even when limited) and
`GET /v2/bot/message/quota/consumption` returns `totalUsage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otodoke.line.client import LineClient


@dataclass(frozen=True)
class QuotaState:
    used: int
    # The month's cap in messages; None when LINE sets none or did not say which.
    limit: int | None
    # LINE says a target limit is set (`type: "limited"`), whether or not it gave the value.
    limited: bool = False

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def limit_unknown(self) -> bool:
        """LINE answered `{"type": "limited"}` without `value`: capped, cap not told."""
        return self.limited and self.limit is None

    @property
    def ratio(self) -> float:
        if not self.limit:
            return 0.0
        return min(1.0, self.used / self.limit)

    @property
    def percent(self) -> int:
        return round(self.ratio * 100)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def parse_quota(quota: Any, consumption: Any) -> QuotaState:
    """The two answers as one state; fields LINE may leave out are optional here too."""
    quota = quota if isinstance(quota, dict) else {}
    consumption = consumption if isinstance(consumption, dict) else {}
    limited = quota.get("type") == "limited"
    limit = _as_int(quota.get("value")) if limited else None
    used = _as_int(consumption.get("totalUsage")) or 0
    return QuotaState(used=max(used, 0), limit=limit, limited=limited)


def fetch_quota(client: LineClient) -> QuotaState:
    """Ask LINE (two GETs on the client's channel). Raises the client's `LineApiError`."""
    quota = client.call("GET", "/v2/bot/message/quota").body
    consumption = client.call("GET", "/v2/bot/message/quota/consumption").body
    return parse_quota(quota, consumption)
