"""The webhook's request path: verify the signature, store the raw events, answer. Nothing else.

LINE sends a broadcast's replies and postbacks at its own pace, thousands a second, and waits
2 s for each answer before it redelivers. So the request does only what must happen before the
200: find the channel secret (cached for a few seconds), check `x-line-signature`, validate
the envelope, and write every event of the body with ONE `INSERT … ON CONFLICT DO NOTHING` on
(workspace, webhookEventId) — a redelivery or duplicate is skipped by the database itself, no
ORM object is built per event and no task per event is enqueued: at most one drain wake-up per
workspace per `LINE_WEBHOOK_BATCH_SECONDS` (`services.schedule_processing`).

`ingest()` is the synchronous form the Django view uses; `otodoke.line.asgi` serves the same
checks under ASGI without Django's middleware stack and group-commits the inserts of
concurrent requests.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from otodoke.line import services
from otodoke.line.models import WebhookEvent, WebhookStatus

# How long a webhook key's channel secret is trusted from memory. A changed secret clears this
# process's entry at once (post_save); other processes see it within this many seconds.
SECRET_TTL_SECONDS = 5.0
# Rows per INSERT statement: 16 columns × 500 stays well inside SQLite's variable limit.
ROWS_PER_STATEMENT = 500
MAX_BODY_BYTES = 1_000_000


@dataclass(frozen=True)
class Channel:
    workspace_id: int
    secret: str


_channels: dict[str, tuple[float, Channel | None]] = {}
_channels_lock = threading.Lock()


def cached_channel(webhook_key: str) -> tuple[bool, Channel | None]:
    """(known, channel) from memory; known is False when the database must be asked."""
    entry = _channels.get(webhook_key)
    if entry is None or entry[0] < time.monotonic():
        return False, None
    return True, entry[1]


def channel_for(webhook_key: str) -> Channel | None:
    """The workspace ID and channel secret behind a webhook key (None: no such key)."""
    known, channel = cached_channel(webhook_key)
    if known:
        return channel
    from otodoke.workspaces.models import Workspace

    workspace = (
        Workspace.objects.only("pk", "channel_secret").filter(webhook_key=webhook_key).first()
    )
    # No secret yet (created in the UI, channel not connected): nothing can be verified, so
    # the key answers as unknown.
    channel = (
        None
        if workspace is None or workspace.channel_secret is None
        else Channel(workspace.pk, workspace.channel_secret.reveal())
    )
    with _channels_lock:
        _channels[webhook_key] = (time.monotonic() + SECRET_TTL_SECONDS, channel)
    return channel


def forget_channels(**_kwargs: Any) -> None:
    """A workspace was saved or deleted: its secret (or key) may have changed."""
    with _channels_lock:
        _channels.clear()


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    @classmethod
    def error(cls, status: int, text: str) -> Answer:
        return cls(status, json.dumps({"error": text}).encode())


OK = Answer(200, b"{}")
UNKNOWN_KEY = Answer.error(404, "unknown webhook")


def check(channel: Channel, body: bytes, signature: str | None) -> Answer | list[tuple[Any, ...]]:
    """The refusal to send, or the rows to insert (an empty list for LINE's verify call)."""
    if not signature:
        return Answer.error(400, "missing x-line-signature")
    if not services.verify_signature(channel.secret, body, signature):
        return Answer.error(403, "invalid signature")
    try:
        parsed = services.parse_body(body)
    except services.InvalidWebhookBody:
        return Answer.error(400, "not a LINE webhook body")
    return event_rows(channel.workspace_id, parsed, timezone.now())


COLUMNS = (
    "workspace_id",
    "webhook_event_id",
    "event_type",
    "raw",
    "source_user_id",
    "timestamp",
    "is_redelivery",
    "received_at",
    "status",
    "attempts",
    "last_error",
    "processed_at",
    "next_attempt_at",
    "outcome",
    "payload",
    "claim",
)


@functools.cache
def _datetime_adapter() -> Callable[[datetime | None], Any]:
    """The backend's datetime adaptation, looked up once: under ASGI `connection` in the event
    loop would build a new (unconnected) wrapper per request. It reads no connection state."""
    adapter: Callable[[datetime | None], Any] = connection.ops.adapt_datetimefield_value
    return adapter


def event_rows(
    workspace_id: int, parsed: services.ParsedWebhook, now: datetime
) -> list[tuple[Any, ...]]:
    """One tuple of column values per distinct event of the body, ready for the database."""
    adapt = _datetime_adapter()
    received = adapt(now)
    rows: list[tuple[Any, ...]] = []
    seen: set[str] = set()
    for event, raw in zip(parsed.body.events, parsed.raw_events, strict=True):
        if event.webhookEventId in seen:
            continue
        seen.add(event.webhookEventId)
        reason = services.rejection(event)
        rows.append(
            (
                workspace_id,
                event.webhookEventId,
                event.type,
                json.dumps(raw, ensure_ascii=False, separators=(",", ":")),
                "" if reason else event.user_id,
                adapt(event.occurred_at),
                event.is_redelivery,
                received,
                WebhookStatus.REJECTED.value if reason else WebhookStatus.PENDING.value,
                0,
                "",
                received if reason else None,
                None,
                reason,
                "{}",
                "",
            )
        )
    return rows


def _insert_sql(count: int) -> str:
    table = WebhookEvent._meta.db_table
    json_value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    one = "(" + ", ".join(json_value if c in ("raw", "payload") else "%s" for c in COLUMNS) + ")"
    return (
        # Only constant names and placeholders are formatted in; every value is a parameter.
        f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES {', '.join([one] * count)} "  # noqa: S608
        "ON CONFLICT (workspace_id, webhook_event_id) DO NOTHING"
    )


def insert_rows(rows: Sequence[tuple[Any, ...]]) -> None:
    """Store the rows (of any workspaces): one statement per ROWS_PER_STATEMENT rows, in one
    transaction, so a failure stores none of them and LINE's redelivery brings them again."""
    if not rows:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            cursor.execute(_insert_sql(len(chunk)), [value for row in chunk for value in row])


def wake_drainers(workspace_ids: set[int]) -> None:
    for workspace_id in workspace_ids:
        services.schedule_processing(workspace_id)


def ingest(webhook_key: str, body: bytes, signature: str | None) -> Answer:
    """The whole request path, synchronously (the Django view)."""
    channel = channel_for(webhook_key)
    if channel is None:
        return UNKNOWN_KEY
    checked = check(channel, body, signature)
    if isinstance(checked, Answer):
        return checked
    if checked:
        insert_rows(checked)
        wake_drainers({channel.workspace_id})
    return OK
