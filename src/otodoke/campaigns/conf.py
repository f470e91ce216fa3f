"""Engine tuning, read from Django settings when used (tests override with `settings`).

Every value has a LINE-faithful default; the environment variables in otodoke.settings only
exist for installs that must go slower (shared channels) or tests that must go faster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from django.conf import settings

# LINE's published per-channel limits (requests per second) for the endpoints we send on.
LINE_RATES: dict[str, float] = {
    "multicast": 200.0,
    "push": 2000.0,
    "broadcast": 60.0 / 3600,
    "other": 2000.0,
}


@dataclass(frozen=True)
class EngineConf:
    multicast_size: int
    max_in_flight: int
    lease_seconds: float
    watchdog_seconds: float
    # Below LINE's window (24 h) so clock skew never lets a stale key through.
    retry_window_seconds: float
    max_attempts: int
    rate_share: float
    rates: dict[str, float]
    flush_seconds: float
    send_timeout: float
    # Recipients rendered and batched per planning step of a personalised send.
    plan_chunk: int = 5000


def _get(name: str, default: Any) -> Any:
    """A Django setting, else the environment variable of the same name, else the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    return os.environ.get(name, default)


def engine_conf() -> EngineConf:
    rates = dict(LINE_RATES)
    rates.update(settings_rates())
    return EngineConf(
        multicast_size=int(_get("OTODOKE_MULTICAST_SIZE", 500)),
        max_in_flight=int(_get("OTODOKE_SEND_CONCURRENCY", 256)),
        lease_seconds=float(_get("OTODOKE_BATCH_LEASE_SECONDS", 60)),
        watchdog_seconds=float(_get("OTODOKE_DELIVERY_WATCHDOG_SECONDS", 120)),
        retry_window_seconds=float(_get("OTODOKE_RETRY_WINDOW_SECONDS", 23 * 3600)),
        max_attempts=int(_get("OTODOKE_SEND_MAX_ATTEMPTS", 12)),
        # The share of LINE's limit we allow ourselves: a little headroom for clock drift
        # between our bucket and LINE's.
        rate_share=float(_get("OTODOKE_RATE_SHARE", 0.95)),
        rates=rates,
        send_timeout=float(_get("OTODOKE_LINE_SEND_TIMEOUT", 10)),
        flush_seconds=float(_get("OTODOKE_RESULT_FLUSH_SECONDS", 0.25)),
        plan_chunk=max(1, int(_get("OTODOKE_PLAN_CHUNK", 5000))),
    )


def settings_rates() -> dict[str, float]:
    """`OTODOKE_LINE_RATES`: a dict setting, or "multicast=50,push=500" in the environment."""
    value = _get("OTODOKE_LINE_RATES", {})
    if isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items()}
    pairs = (item.split("=", 1) for item in str(value).split(",") if "=" in item)
    return {k.strip(): float(v) for k, v in pairs}
