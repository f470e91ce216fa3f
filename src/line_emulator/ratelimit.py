"""Per-channel, per-endpoint token buckets with LINE's published rates."""

from __future__ import annotations

from dataclasses import dataclass

from line_emulator.config import RateLimit

# Endpoint keys are "family" or "family.operation". A key's rate is looked up exactly, then by
# its family, then falls back to "other"; every key still gets its own bucket, as LINE limits
# each endpoint separately.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    "other": RateLimit(2000),
    "reply": RateLimit(2000),
    "push": RateLimit(2000),
    "multicast": RateLimit(200),
    "broadcast": RateLimit(60, 3600),
    "narrowcast": RateLimit(60, 3600),
    "audience": RateLimit(60, 60),
    "insight": RateLimit(60, 3600),
    "webhook.test": RateLimit(60, 3600),
    "webhook.endpoint": RateLimit(1000, 60),
    "richmenu.create": RateLimit(100, 3600),
    "richmenu.delete": RateLimit(100, 3600),
    "richmenu.alias.delete": RateLimit(100, 3600),
    "richmenu.batch.progress": RateLimit(100, 3600),
    "richmenu.batch": RateLimit(3, 3600),
    "richmenu.list": RateLimit(10),
    "loading": RateLimit(100),
    "oauth.accessToken": RateLimit(370),
}


def resolve_rate(key: str, overrides: dict[str, RateLimit]) -> RateLimit:
    family = key.split(".", 1)[0]
    for table in (overrides, DEFAULT_RATE_LIMITS):
        if key in table:
            return table[key]
    for table in (overrides, DEFAULT_RATE_LIMITS):
        if family in table:
            return table[family]
    return overrides.get("other", DEFAULT_RATE_LIMITS["other"])


@dataclass
class TokenBucket:
    limit: RateLimit
    tokens: float
    updated: float

    @classmethod
    def full(cls, limit: RateLimit, now: float) -> TokenBucket:
        return cls(limit, limit.capacity, now)

    def take(self, now: float) -> bool:
        """Refill for the time elapsed, then take one token if there is one."""
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(
                self.limit.capacity, self.tokens + elapsed * self.limit.tokens_per_second
            )
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
