"""Server-rendered SVG charts: Python computes the geometry, templates draw it. No JavaScript
and no vendored chart library, so charts render the same in tests, screenshots and on phones."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class DayPoint:
    day: date
    follows: int
    blocks: int


@dataclass(frozen=True)
class Bar:
    day: date
    x: float
    width: float
    follows: int
    blocks: int
    # Follows grow up from the middle line, blocks grow down from it.
    follow_y: float
    follow_height: float
    block_height: float


@dataclass(frozen=True)
class FriendChart:
    width: int
    height: int
    middle: float
    peak: int
    bars: list[Bar]
    first_day: date | None
    last_day: date | None
    total_follows: int
    total_blocks: int


def friend_chart(points: list[DayPoint], *, width: int = 600, height: int = 160) -> FriendChart:
    peak = max([1, *(max(p.follows, p.blocks) for p in points)])
    middle = height / 2
    # Leave a little headroom so the tallest bar does not touch the frame.
    scale = (middle - 4) / peak
    slot = width / max(len(points), 1)
    bars = [
        Bar(
            day=p.day,
            x=round(i * slot + slot * 0.15, 2),
            width=round(slot * 0.7, 2),
            follows=p.follows,
            blocks=p.blocks,
            follow_y=round(middle - p.follows * scale, 2),
            follow_height=round(p.follows * scale, 2),
            block_height=round(p.blocks * scale, 2),
        )
        for i, p in enumerate(points)
    ]
    return FriendChart(
        width=width,
        height=height,
        middle=middle,
        peak=peak,
        bars=bars,
        first_day=points[0].day if points else None,
        last_day=points[-1].day if points else None,
        total_follows=sum(p.follows for p in points),
        total_blocks=sum(p.blocks for p in points),
    )


@dataclass(frozen=True)
class Gauge:
    percent: int
    radius: int
    circumference: float
    filled: float
    level: str  # ok | warn | full: the colour class


def gauge(percent: int, *, radius: int = 52) -> Gauge:
    percent = max(0, min(100, percent))
    circumference = round(2 * math.pi * radius, 2)
    level = "full" if percent >= 100 else "warn" if percent >= 80 else "ok"
    return Gauge(percent, radius, circumference, round(circumference * percent / 100, 2), level)
