"""Configuration of the emulator: channels, latency, faults, rate limits, quota, webhooks."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Literal

QuotaType = Literal["limited", "none"]

_RATE_RE = re.compile(r"^\s*(?P<count>\d+(?:\.\d+)?)\s*(?:/\s*(?P<unit>s|sec|min|m|h|hour))?\s*$")
_UNIT_SECONDS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0}


def new_user_id() -> str:
    """A LINE-shaped user ID: 'U' followed by 32 lowercase hex digits."""
    return "U" + secrets.token_hex(16)


@dataclass
class ChannelConfig:
    channel_id: str
    access_token: str
    channel_secret: str
    webhook_url: str | None = None
    # The webhook `destination`: LINE sends the bot's own user ID there.
    bot_user_id: str = field(default_factory=new_user_id)
    quota_type: QuotaType = "limited"
    quota_value: int = 200
    # LINE's spec makes `value` optional in a limited quota answer; False answers
    # `{"type": "limited"}` alone (the limit still applies) so clients can be tested on it.
    quota_value_shown: bool = True
    # followers/ids answers 403 to unverified accounts, like LINE.
    verified: bool = True


@dataclass
class RateLimit:
    """A token bucket: `rate` requests refill per `per_seconds`; `burst` is the capacity."""

    rate: float
    per_seconds: float = 1.0
    burst: float | None = None

    @property
    def tokens_per_second(self) -> float:
        return self.rate / self.per_seconds

    @property
    def capacity(self) -> float:
        # LINE does not publish bucket sizes. One second's worth for per-second limits, the whole
        # window for per-minute and per-hour limits (so 60/h allows 60 at once, then 1/min).
        if self.burst is not None:
            return self.burst
        return max(1.0, self.rate)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Parse `200/s`, `60/min`, `60/h` or `200` (per second), optional `,burst=N`."""
        rate_text, _, burst_text = text.partition(",")
        match = _RATE_RE.match(rate_text)
        if match is None:
            raise ValueError(f"bad rate {text!r}; expected e.g. 200/s, 60/min, 60/h")
        burst: float | None = None
        if burst_text:
            key, _, value = burst_text.partition("=")
            if key.strip() != "burst":
                raise ValueError(f"bad rate option {burst_text!r}; expected burst=N")
            burst = float(value)
        unit = match.group("unit") or "s"
        return cls(float(match.group("count")), _UNIT_SECONDS[unit], burst)


@dataclass
class LatencyConfig:
    latency_ms: float = 0.0
    # Uniform extra delay in [0, jitter_ms).
    jitter_ms: float = 0.0


@dataclass
class FaultConfig:
    """Shares (0–1) of LINE API requests that fail; drawn independently per request in order.

    `*_after_accept` is the share of timeouts/drops that happen after the request was processed
    (delivered, retry key locked): the client never learns it succeeded. The rest are lost
    before anything happens.
    """

    error_500: float = 0.0
    error_429: float = 0.0
    # 400 with LINE's "The request body has 1 error(s)" body and a `details` entry.
    error_400: float = 0.0
    timeout: float = 0.0
    drop: float = 0.0
    timeout_after_accept: float = 0.5
    drop_after_accept: float = 0.5
    # How long a "timeout" stalls before answering; set it past the client's timeout.
    timeout_seconds: float = 30.0
    # Only paths with one of these prefixes get faults (the control API never does).
    path_prefixes: tuple[str, ...] = ("/v2/", "/bot/")


@dataclass
class WebhookConfig:
    # LINE counts no answer within 2 s as `request_timeout`.
    timeout_seconds: float = 2.0
    # Automatic redelivery of failed webhooks (off by default, like LINE's console setting).
    redelivery: bool = False
    redelivery_attempts: int = 3
    # The wait before the first redelivery; each further one waits twice as long (LINE does
    # not publish its schedule; it backs off too), at most `redelivery_max_interval_seconds`.
    redelivery_interval_seconds: float = 1.0
    redelivery_max_interval_seconds: float = 60.0
    # Webhook POSTs in flight at once, first deliveries and redeliveries together; the rest
    # wait their turn (a receiver that was down must not face thousands at once).
    max_concurrency: int = 20


@dataclass
class EmulatorConfig:
    channels: list[ChannelConfig] = field(default_factory=list)
    latency: LatencyConfig = field(default_factory=LatencyConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    # Endpoint key (e.g. "multicast", "audience.create") -> rate. Merged over LINE's defaults.
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    rate_limits_enabled: bool = True
    # Default monthly quota for channels registered without one.
    default_quota_type: QuotaType = "limited"
    default_quota_value: int = 200
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    # Seeds fault draws, latency jitter and generated friends, for reproducible runs.
    seed: int | None = None
    # Bodies above this get 413, like LINE.
    max_body_bytes: int = 2 * 1024 * 1024
    # Friends created at start-up on every channel.
    initial_friends: int = 0
