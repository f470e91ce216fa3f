"""Recording what each friend received, with quota accounting. Used by every send endpoint."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from line_emulator.http import MONTHLY_LIMIT_MESSAGE, LineError
from line_emulator.state import JST, Channel, Emulator, RequestRecord

# Endpoints whose deliveries count against the monthly quota (reply does not).
QUOTA_ENDPOINTS = frozenset({"push", "multicast", "broadcast", "narrowcast"})


def reachable(channel: Channel, user_ids: Iterable[str]) -> list[str]:
    """The following friends among `user_ids`, in order, each once.

    Blocked users, non-friends and unknown IDs are silently skipped, as LINE does.
    """
    friends = channel.friends
    seen: set[str] = set()
    out: list[str] = []
    for user_id in user_ids:
        friend = friends.get(user_id)
        if friend is not None and friend.status == "following" and user_id not in seen:
            seen.add(user_id)
            out.append(user_id)
    return out


def deliver(
    emulator: Emulator,
    channel: Channel,
    *,
    endpoint: str,
    request_id: str,
    user_ids: Iterable[str],
    messages: list[dict[str, Any]],
    retry_key: str | None = None,
    target_count: int | None = None,
    notification_disabled: bool = False,
    check_quota: bool = True,
    at: datetime | None = None,
) -> RequestRecord:
    """Deliver to the reachable users and log the request; raise the quota 429 first if needed.

    Nothing is recorded when it raises: on any error LINE sends to no one. `at` backdates the
    delivery (a narrowcast job that ran while the emulator clock was jumped forward).
    """
    targets = list(user_ids)
    recipients = reachable(channel, targets)
    counted = endpoint in QUOTA_ENDPOINTS
    if counted and check_quota and not emulator.quota_allows(channel, len(recipients)):
        raise LineError(429, MONTHLY_LIMIT_MESSAGE)
    now = at or emulator.now()
    record = RequestRecord(
        request_id=request_id,
        endpoint=endpoint,
        channel_id=channel.channel_id,
        time=now,
        messages=messages,
        retry_key=retry_key,
        recipients=recipients,
        target_count=len(targets) if target_count is None else target_count,
        notification_disabled=notification_disabled,
    )
    friends = channel.friends
    for user_id in recipients:
        friends[user_id].received.append(record)
    emulator.requests[request_id] = record
    if recipients:
        if counted:
            month = now.astimezone(JST).strftime("%Y%m")
            channel.usage_by_month[month] = channel.usage_by_month.get(month, 0) + len(recipients)
        day = (endpoint, now.astimezone(JST).strftime("%Y%m%d"))
        channel.delivery_counts[day] = channel.delivery_counts.get(day, 0) + len(recipients)
    return record
