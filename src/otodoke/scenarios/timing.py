"""Time in the workspace's zone: when a wait ends, and quiet hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from otodoke.scenarios import schema
from otodoke.scenarios.models import AutomationSettings


def wait_until(step: schema.Wait, start: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """When a wait that begins at `start` ends (aware, UTC).

    `time_of_day`: the next `at` strictly after `start` (today if still ahead, else
    tomorrow); `weekday`: the next such weekday at `at` strictly after `start`."""
    if step.mode == "duration":
        return start + dt.timedelta(days=step.days, hours=step.hours, minutes=step.minutes)
    local = start.astimezone(tz)
    at = step.at_time
    candidate = dt.datetime.combine(local.date(), at, tzinfo=tz)
    if step.mode == "time_of_day":
        if candidate <= local:
            candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), at, tzinfo=tz)
        return candidate.astimezone(dt.UTC)
    assert step.weekday is not None
    ahead = (step.weekday - local.weekday()) % 7
    candidate = dt.datetime.combine(local.date() + dt.timedelta(days=ahead), at, tzinfo=tz)
    if candidate <= local:
        candidate += dt.timedelta(days=7)
    return candidate.astimezone(dt.UTC)


def quiet_until(
    settings: AutomationSettings | None, now: dt.datetime, tz: ZoneInfo
) -> dt.datetime | None:
    """The end of the quiet hours `now` falls in (UTC), or None when sending is allowed.

    Defaults (no settings row): 21:00–09:00 in the workspace time zone. A window whose start
    is after its end spans midnight."""
    enabled = settings.quiet_hours_enabled if settings else True
    start = settings.quiet_start if settings else dt.time(21, 0)
    end = settings.quiet_end if settings else dt.time(9, 0)
    if not enabled or start == end:
        return None
    local = now.astimezone(tz)
    clock = local.time()
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:
        inside = clock >= start or clock < end
        end_day = local.date() + dt.timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    return dt.datetime.combine(end_day, end, tzinfo=tz).astimezone(dt.UTC)
