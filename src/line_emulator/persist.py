"""Keep an emulator's state in a file across restarts (`--state-file`, used by `otodoke demo`).

What is kept, per channel given on the command line: its friends (profile, status and every
message each received), the sending requests they received, retry keys (so a retry after a
restart still answers 409), the month's quota usage, delivery counts, clicks and the bot's user
ID (the webhook `destination`). Channels are matched by channel ID; their credentials come from
the command line, never from the file. Not kept: audiences, rich menus, link tokens, webhook
delivery logs, rate-limit buckets and the response log (a restart starts them empty).

The file is JSON, written atomically (a temporary file renamed over it) with mode 600.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from line_emulator.state import AcceptedRetryKey, Click, Emulator, Friend, RequestRecord

FORMAT_VERSION = 1
_FRIEND_FIELDS = (
    "user_id",
    "display_name",
    "picture_url",
    "language",
    "status",
    "gender",
    "age",
    "area",
    "app_type",
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def snapshot(emulator: Emulator) -> dict[str, Any]:
    """The state as JSON-ready data."""
    requests: dict[str, RequestRecord] = {}
    channels: dict[str, Any] = {}
    for channel_id, channel in emulator.channels.items():
        friends = []
        for friend in channel.friends.values():
            data = {key: getattr(friend, key) for key in _FRIEND_FIELDS}
            data["followed_at"] = _time(friend.followed_at)
            data["received"] = [record.request_id for record in friend.received]
            for record in friend.received:
                requests.setdefault(record.request_id, record)
            friends.append(data)
        channels[channel_id] = {
            "bot_user_id": channel.config.bot_user_id,
            "friends": friends,
            "retry_keys": {
                key: {
                    "request_id": accepted.request_id,
                    "accepted_at": _time(accepted.accepted_at),
                    "sent_messages": accepted.sent_messages,
                }
                for key, accepted in channel.retry_keys.items()
            },
            "usage_by_month": channel.usage_by_month,
            "delivery_counts": [[e, d, n] for (e, d), n in channel.delivery_counts.items()],
            "clicks": [{**asdict(click), "time": _time(click.time)} for click in channel.clicks],
        }
    for request_id, record in emulator.requests.items():
        requests.setdefault(request_id, record)
    return {
        "version": FORMAT_VERSION,
        "clock_offset": emulator.clock_offset,
        "channels": channels,
        "requests": [
            {**asdict(record), "time": _time(record.time)} for record in requests.values()
        ],
    }


def restore(emulator: Emulator, data: dict[str, Any]) -> None:
    """Put a snapshot back into the channels this emulator was started with."""
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"unknown state file version {data.get('version')!r}")
    emulator.advance_clock(float(data.get("clock_offset", 0.0)) - emulator.clock_offset)
    records: dict[str, RequestRecord] = {}
    for raw in data.get("requests", []):
        record = RequestRecord(**{**raw, "time": _parse_time(raw["time"])})
        records[record.request_id] = record
    emulator.requests.update(records)
    for channel_id, saved in data.get("channels", {}).items():
        channel = emulator.channels.get(channel_id)
        if channel is None:
            continue  # not given on this command line: its credentials are unknown
        channel.config.bot_user_id = saved.get("bot_user_id") or channel.config.bot_user_id
        for raw in saved.get("friends", []):
            fields = {key: raw.get(key) for key in _FRIEND_FIELDS}
            friend = Friend(**fields, followed_at=_parse_time(raw.get("followed_at")))
            friend.received = [records[r] for r in raw.get("received", []) if r in records]
            channel.friends[friend.user_id] = friend
        channel.retry_keys.update(
            {
                key: AcceptedRetryKey(
                    value["request_id"],
                    _parse_time(value["accepted_at"]) or emulator.now(),
                    value["sent_messages"],
                )
                for key, value in saved.get("retry_keys", {}).items()
            }
        )
        channel.usage_by_month.update(saved.get("usage_by_month", {}))
        channel.delivery_counts.update({(e, d): n for e, d, n in saved.get("delivery_counts", [])})
        channel.clicks.extend(
            Click(**{**raw, "time": _parse_time(raw["time"])}) for raw in saved.get("clicks", [])
        )


def save(emulator: Emulator, path: Path) -> None:
    """Write the state atomically, readable by this user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(snapshot(emulator), out, ensure_ascii=False)
    temporary.replace(path)


def load(emulator: Emulator, path: Path) -> bool:
    """Restore from `path` if it exists; True when something was restored."""
    if not path.exists():
        return False
    try:
        restore(emulator, json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        # A damaged file must not keep the emulator from starting: set it aside, start empty.
        aside = path.with_name(path.name + ".damaged")
        path.replace(aside)
        sys.stderr.write(f"line_emulator: {path} could not be read ({exc}); moved to {aside}\n")
        return False
    return True


def fingerprint(emulator: Emulator) -> tuple[int, ...]:
    """Cheap summary that changes whenever something worth saving does."""
    channels = emulator.channels.values()
    return (
        len(emulator.requests),
        sum(len(c.friends) for c in channels),
        sum(1 for c in channels for f in c.friends.values() if f.following),
        sum(len(c.clicks) for c in channels),
        sum(len(c.retry_keys) for c in channels),
    )


async def keep_saving(emulator: Emulator, path: Path, every: float = 2.0) -> None:
    """Save whenever the state changed, every `every` seconds, and once more when cancelled
    (the server shutting down)."""
    last = fingerprint(emulator)
    try:
        while True:
            await asyncio.sleep(every)
            current = fingerprint(emulator)
            if current != last:
                save(emulator, path)
                last = current
    finally:
        with contextlib.suppress(OSError):
            save(emulator, path)
