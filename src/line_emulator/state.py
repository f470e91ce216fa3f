"""All in-memory state of one emulator: channels, friends, what they received, the clock."""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from line_emulator.config import ChannelConfig, EmulatorConfig, RateLimit
from line_emulator.ratelimit import TokenBucket, resolve_rate

JST = timezone(timedelta(hours=9), "JST")
FriendStatus = Literal["following", "blocked", "unfollowed-never"]


@dataclass(eq=False)
class RequestRecord:
    """One accepted sending request. Shared by every friend that received it (no copies)."""

    request_id: str
    endpoint: str  # reply | push | multicast | broadcast | narrowcast
    channel_id: str
    time: datetime
    messages: list[dict[str, Any]]
    retry_key: str | None = None
    # Recipients the message actually reached (following friends), in request order.
    recipients: list[str] = field(default_factory=list)
    # Everyone the request named, reachable or not.
    target_count: int = 0
    notification_disabled: bool = False
    # Push only: the `sentMessages` the response carried, replayed on a 409.
    sent_messages: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class ResponseRecord:
    """One LINE API request as the fault layer saw it: who asked (client port) and the answer.

    `status` is the HTTP status as text, or "dropped"/"timeout" when the client got none.
    """

    method: str
    path: str
    client_port: int | None
    retry_key: str | None
    status: str = ""
    fault: str | None = None


# Enough for every test and a bench run's tail; a million-push bench keeps only the last ones.
RESPONSE_LOG_SIZE = 200_000


@dataclass
class Friend:
    user_id: str
    display_name: str
    picture_url: str | None = None
    language: str | None = "ja"
    status: FriendStatus = "following"
    # Demographic attributes for narrowcast filters and insight; None means "unknown".
    gender: Literal["male", "female"] | None = None
    age: int | None = None
    area: str | None = None  # e.g. "jp_13"
    app_type: Literal["ios", "android"] | None = None
    followed_at: datetime | None = None
    received: list[RequestRecord] = field(default_factory=list)

    @property
    def following(self) -> bool:
        return self.status == "following"


@dataclass
class AcceptedRetryKey:
    request_id: str
    accepted_at: datetime
    sent_messages: list[dict[str, str]]


@dataclass
class ReplyToken:
    channel_id: str
    user_id: str
    event_time: datetime
    valid_until: datetime
    used: bool = False


@dataclass
class WebhookAttempt:
    time: datetime
    is_redelivery: bool
    status_code: int | None
    # None on success; request_timeout | error_status_code | could_not_connect | unclassified
    error: str | None
    detail: str = ""


@dataclass
class WebhookDelivery:
    delivery_id: str
    channel_id: str
    events: list[dict[str, Any]]
    attempts: list[WebhookAttempt] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return any(a.error is None for a in self.attempts)


@dataclass
class Click:
    user_id: str
    request_id: str | None
    url: str
    time: datetime


@dataclass
class Channel:
    config: ChannelConfig
    friends: dict[str, Friend] = field(default_factory=dict)
    retry_keys: dict[str, AcceptedRetryKey] = field(default_factory=dict)
    # Recipients counted against the quota, by JST month "YYYYMM".
    usage_by_month: dict[str, int] = field(default_factory=dict)
    # Delivered recipients by (endpoint, JST date "YYYYMMDD"), for /message/delivery/*.
    delivery_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    webhook_deliveries: list[WebhookDelivery] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    # Other modules (audiences, rich menus, ...) keep per-channel state here under their name.
    extensions: dict[str, Any] = field(default_factory=dict)

    @property
    def channel_id(self) -> str:
        return self.config.channel_id


class Emulator:
    """The whole simulated LINE platform. Not thread-safe: used from one event loop."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._build()

    def _build(self) -> None:
        config = self.config
        # Simulation randomness, seedable for reproducible runs; nothing secret depends on it.
        self.random = random.Random(config.seed)  # noqa: S311
        self._clock_offset = 0.0
        self.channels: dict[str, Channel] = {}
        self.channels_by_token: dict[str, Channel] = {}
        self.requests: dict[str, RequestRecord] = {}
        self.reply_tokens: dict[str, ReplyToken] = {}
        # Scripted faults consumed one per LINE API request before random ones are drawn.
        self.scripted_faults: list[str] = []
        # Scripted answers ({method, path, status, body}), each given once, in place of the
        # real one, to the next request with that method and path: LINE's rarer misbehaviour
        # (a repeated cursor, a malformed ID) that clients must survive.
        self.scripted_answers: list[dict[str, Any]] = []
        self.responses: deque[ResponseRecord] = deque(maxlen=RESPONSE_LOG_SIZE)
        self.extensions: dict[str, Any] = {}
        for channel_config in config.channels:
            self.add_channel(channel_config)

    # --- clock -----------------------------------------------------------------------------

    def now(self) -> datetime:
        """Aware UTC time: real time plus whatever tests advanced the clock by."""
        return datetime.now(UTC) + timedelta(seconds=self._clock_offset)

    def monotonic(self) -> float:
        """Seconds for token buckets; advances with the emulator clock too."""
        return time.monotonic() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        self._clock_offset += seconds

    @property
    def clock_offset(self) -> float:
        return self._clock_offset

    # --- channels --------------------------------------------------------------------------

    def add_channel(self, config: ChannelConfig) -> Channel:
        old = self.channels.get(config.channel_id)
        if old is not None:
            self.channels_by_token.pop(old.config.access_token, None)
            old.config = config
            channel = old
        else:
            channel = Channel(config)
        self.channels[config.channel_id] = channel
        self.channels_by_token[config.access_token] = channel
        return channel

    def channel_by_id(self, channel_id: str) -> Channel | None:
        return self.channels.get(channel_id)

    # --- rate limits -----------------------------------------------------------------------

    def take_rate_token(self, channel: Channel, endpoint_key: str) -> bool:
        if not self.config.rate_limits_enabled:
            return True
        bucket = channel.buckets.get(endpoint_key)
        now = self.monotonic()
        if bucket is None:
            limit = resolve_rate(endpoint_key, self.config.rate_limits)
            bucket = channel.buckets[endpoint_key] = TokenBucket.full(limit, now)
        return bucket.take(now)

    def set_rate_limits(self, overrides: dict[str, RateLimit], enabled: bool) -> None:
        self.config.rate_limits = overrides
        self.config.rate_limits_enabled = enabled
        for channel in self.channels.values():
            channel.buckets.clear()

    # --- quota -----------------------------------------------------------------------------

    def month_key(self) -> str:
        return self.now().astimezone(JST).strftime("%Y%m")

    def quota_usage(self, channel: Channel) -> int:
        return channel.usage_by_month.get(self.month_key(), 0)

    def quota_allows(self, channel: Channel, recipients: int) -> bool:
        if channel.config.quota_type == "none" or recipients == 0:
            return True
        return self.quota_usage(channel) + recipients <= channel.config.quota_value

    # --- reset -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget all state; every channel registered so far comes back empty, clock unshifted."""
        self.config.channels = [channel.config for channel in self.channels.values()]
        self.reconfigure(self.config)

    def reconfigure(self, config: EmulatorConfig) -> None:
        """Start over from `config` (tests share one server and reset it between tests)."""
        # The webhook HTTP client belongs to the server's lifetime, not to the state.
        sender = self.extensions.get("webhook_sender") if hasattr(self, "extensions") else None
        self.config = config
        self._build()
        if sender is not None:
            self.extensions["webhook_sender"] = sender
