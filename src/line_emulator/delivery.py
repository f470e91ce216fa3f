"""Recording what each friend received, with quota accounting. Used by every send endpoint."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from line_emulator.http import MONTHLY_LIMIT_MESSAGE, LineError
from line_emulator.state import JST, Channel, Emulator, Friend, RequestRecord

# Endpoints whose deliveries count against the monthly quota (reply does not).
QUOTA_ENDPOINTS = frozenset({"push", "multicast", "broadcast", "narrowcast"})


def reachable_friends(channel: Channel, user_ids: Iterable[str]) -> list[Friend]:
    """The following friends among `user_ids`, in order, each once.

    Blocked users, non-friends and unknown IDs are silently skipped, as LINE does.
    """
    get = channel.friends.get
    return [
        friend
        for user_id in dict.fromkeys(user_ids)
        if (friend := get(user_id)) is not None and friend.status == "following"
    ]


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
    unique = dict.fromkeys(targets)
    counted = endpoint in QUOTA_ENDPOINTS
    # The exact recipient count matters before delivering only when even every named user
    # would not fit in the quota; otherwise one pass below both finds and records them.
    if (
        counted
        and check_quota
        and not emulator.quota_allows(channel, len(unique))
        and not emulator.quota_allows(channel, len(reachable_friends(channel, unique)))
    ):
        raise LineError(429, MONTHLY_LIMIT_MESSAGE)
    now = at or emulator.now()
    recipients: list[str] = []
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
    # Hot path (up to 500 IDs per multicast): one lookup per ID, repeats already dropped.
    get = channel.friends.get
    for user_id in unique:
        friend = get(user_id)
        if friend is not None and friend.status == "following":
            friend.received.append(record)
            recipients.append(user_id)
    emulator.requests[request_id] = record
    if recipients:
        # One conversion to JST and no strftime (slow); the day's string gives the month too.
        local = now.astimezone(JST)
        date = f"{local.year:04d}{local.month:02d}{local.day:02d}"
        if counted:
            month = date[:6]
            channel.usage_by_month[month] = channel.usage_by_month.get(month, 0) + len(recipients)
        day = (endpoint, date)
        channel.delivery_counts[day] = channel.delivery_counts.get(day, 0) + len(recipients)
    return record
