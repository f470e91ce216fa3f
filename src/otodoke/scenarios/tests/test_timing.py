"""Waits and quiet hours in the workspace time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from otodoke.scenarios.models import AutomationSettings
from otodoke.scenarios.schema import Wait
from otodoke.scenarios.timing import quiet_until, wait_until

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def test_duration() -> None:
    step = Wait(type="wait", days=1, hours=2, minutes=30)
    assert wait_until(step, tokyo(2026, 4, 1, 12, 0), TOKYO) == tokyo(2026, 4, 2, 14, 30)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (tokyo(2026, 4, 1, 8, 0), tokyo(2026, 4, 1, 10, 0)),  # later today
        (tokyo(2026, 4, 1, 10, 0), tokyo(2026, 4, 2, 10, 0)),  # exactly now: tomorrow
        (tokyo(2026, 4, 1, 23, 0), tokyo(2026, 4, 2, 10, 0)),
    ],
)
def test_until_a_time_of_day_in_the_workspace_zone(
    start: dt.datetime, expected: dt.datetime
) -> None:
    step = Wait(type="wait", mode="time_of_day", at="10:00")
    assert wait_until(step, start, TOKYO) == expected


def test_until_a_weekday() -> None:
    friday_ten = Wait(type="wait", mode="weekday", weekday=4, at="10:00")
    wednesday = tokyo(2026, 4, 1, 12, 0)
    assert wait_until(friday_ten, wednesday, TOKYO) == tokyo(2026, 4, 3, 10, 0)
    friday_late = tokyo(2026, 4, 3, 11, 0)
    assert wait_until(friday_ten, friday_late, TOKYO) == tokyo(2026, 4, 10, 10, 0)


def test_default_quiet_hours_span_midnight() -> None:
    assert quiet_until(None, tokyo(2026, 4, 1, 20, 59), TOKYO) is None
    assert quiet_until(None, tokyo(2026, 4, 1, 21, 0), TOKYO) == tokyo(2026, 4, 2, 9, 0)
    assert quiet_until(None, tokyo(2026, 4, 2, 3, 0), TOKYO) == tokyo(2026, 4, 2, 9, 0)
    assert quiet_until(None, tokyo(2026, 4, 2, 9, 0), TOKYO) is None


def test_quiet_hours_within_a_day() -> None:
    lunch = AutomationSettings(quiet_start=dt.time(12, 0), quiet_end=dt.time(13, 0))
    assert quiet_until(lunch, tokyo(2026, 4, 1, 12, 30), TOKYO) == tokyo(2026, 4, 1, 13, 0)
    assert quiet_until(lunch, tokyo(2026, 4, 1, 21, 30), TOKYO) is None
