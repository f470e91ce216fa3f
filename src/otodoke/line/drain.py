"""Processing stored webhook events in batches, by any number of workers at once.

A drainer claims up to `BATCH_SIZE` pending events of a workspace (PostgreSQL: `SELECT … FOR
UPDATE SKIP LOCKED`, so concurrent drainers take different rows without waiting; SQLite: the
IMMEDIATE transaction serialises claimers, and a claim is a conditional UPDATE either way),
fetches the profiles of the batch's follows at LINE's rate limit (concurrently, outside any
transaction), then applies the whole batch in one transaction with a savepoint per event: a
failing event is recorded `failed` (and retried by its own task) without undoing the others.

The claim is a lease (`claim`, `claimed_until`): if the drainer dies half-way, its transaction
rolls back, the events are still `pending`, and once the lease has run out the next drain takes
them. Every event is applied, and its signals (`otodoke.line.signals`) sent, in the transaction
that marks it processed, and only for rows still pending and still this claim's when that
transaction locked them — so no event is processed twice, whatever races it.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from otodoke.contacts.models import Contact
from otodoke.line import profiles, services
from otodoke.line.client import LineApiError, LineClient
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.profiles import Prefetched
from otodoke.workspaces.models import Workspace

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# SQLite has one writer at a time, and a batch holds the write lock while it is applied: small
# batches there, so the webhook's INSERTs never wait long behind one.
SQLITE_BATCH_SIZE = 25
# Longer than a batch ever takes (its profile fetches have timeouts); a crashed drainer's
# events wait this long before another drainer takes them.
LEASE = timedelta(seconds=60)
PROFILE_THREADS = 16

Clock = Callable[[], datetime]


def claim_batch(
    workspace_id: int, size: int = BATCH_SIZE, *, now: datetime
) -> tuple[str, list[int]]:
    """Claim up to `size` of the workspace's pending, unclaimed (or lease-expired) events,
    oldest first; returns (claim token, their IDs)."""
    token = secrets.token_hex(8)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    with transaction.atomic():
        pending = (
            WebhookEvent.objects.filter(workspace_id=workspace_id, status=WebhookStatus.PENDING)
            .filter(free)
            .order_by("timestamp", "pk")
        )
        if connection.vendor == "postgresql":
            pending = pending.select_for_update(skip_locked=True)
        pks = list(pending.values_list("pk", flat=True)[:size])
        if not pks:
            return token, []
        WebhookEvent.objects.filter(pk__in=pks, status=WebhookStatus.PENDING).filter(free).update(
            claim=token, claimed_until=now + LEASE
        )
    claimed = WebhookEvent.objects.filter(pk__in=pks, claim=token).order_by("timestamp", "pk")
    return token, list(claimed.values_list("pk", flat=True))


def prefetch_profiles(workspace: Workspace, events: list[WebhookEvent]) -> dict[str, Prefetched]:
    """The profiles of the batch's followers, by LINE user ID: one request each, within LINE's
    per-channel profile rate (the bucket every worker shares), several at a time."""
    users = list(
        dict.fromkeys(
            e.source_user_id for e in events if e.event_type == "follow" and e.source_user_id
        )
    )
    if not users:
        return {}
    profiles.take_profile_tokens(workspace.channel_id, len(users))
    with LineClient.for_workspace(workspace) as client:

        def fetch(user_id: str) -> Prefetched:
            try:
                return Prefetched(profile=client.get_profile(user_id))
            except LineApiError as exc:
                logger.warning("Profile of %s not fetched: %s", user_id, exc.describe())
                return Prefetched(profile_error="" if exc.permanent else exc.describe())

        with ThreadPoolExecutor(max_workers=min(PROFILE_THREADS, len(users))) as pool:
            return dict(zip(users, pool.map(fetch, users), strict=True))


UPDATED = [
    "status",
    "outcome",
    "payload",
    "processed_at",
    "attempts",
    "last_error",
    "next_attempt_at",
    "claim",
    "claimed_until",
]


def record_results(events: list[WebhookEvent]) -> None:
    """Write the events' statuses: one UPDATE executed for all of them (executemany; Django's
    bulk_update builds a CASE per column and row, slower than processing the batch)."""
    if not events:
        return
    ops = connection.ops
    table = WebhookEvent._meta.db_table
    json_value = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    assignments = ", ".join(
        f"{name} = {json_value if name == 'payload' else '%s'}" for name in UPDATED
    )
    rows = [
        (
            e.status,
            e.outcome,
            json.dumps(e.payload, ensure_ascii=False),
            ops.adapt_datetimefield_value(e.processed_at),
            e.attempts,
            e.last_error,
            ops.adapt_datetimefield_value(e.next_attempt_at),
            e.claim,
            ops.adapt_datetimefield_value(e.claimed_until),
            e.pk,
        )
        for e in events
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)  # noqa: S608


def process_batch(workspace: Workspace, token: str, pks: list[int]) -> dict[str, int]:
    """Apply the claimed events; returns counts by resulting status."""
    from otodoke.line.tasks import retry_webhook_event

    events = list(
        WebhookEvent.objects.filter(pk__in=pks, claim=token, status=WebhookStatus.PENDING).order_by(
            "timestamp", "pk"
        )
    )
    # Network first, outside any transaction: a LINE call must never hold database locks.
    fetched = prefetch_profiles(workspace, events)
    counts: dict[str, int] = {}
    done: list[WebhookEvent] = []
    retries: list[tuple[int, datetime]] = []
    with transaction.atomic():
        # Only the rows still pending and still ours, locked until commit (PostgreSQL row
        # locks; SQLite's IMMEDIATE transaction holds the write lock): a retry task or a
        # drainer whose lease this one outlived cannot apply them meanwhile.
        mine = set(
            WebhookEvent.objects.select_for_update()
            .filter(pk__in=[e.pk for e in events], claim=token, status=WebhookStatus.PENDING)
            .values_list("pk", flat=True)
        )
        now = timezone.now()
        # The contacts of the batch's messages and postbacks, in one query instead of one each
        # (a friend first seen in this batch is looked up when its event is applied; so is
        # everyone when the batch links accounts, since a link can merge contacts).
        others = {e.source_user_id for e in events if e.event_type in ("message", "postback")}
        if any(e.event_type == "accountLink" for e in events):
            others = set()
        known = dict(
            Contact.objects.filter(workspace=workspace, line_user_id__in=others - {""}).values_list(
                "line_user_id", "pk"
            )
        )
        for event in events:
            if event.pk not in mine:
                continue
            event.workspace = workspace
            processor = services.PROCESSORS.get(event.event_type, services.ignore_unknown)
            prefetched = fetched.get(event.source_user_id, Prefetched())
            if event.event_type in ("message", "postback"):
                prefetched = Prefetched(contact_id=known.get(event.source_user_id))
            try:
                with transaction.atomic():
                    outcome = processor(event, prefetched)
            except Exception as exc:
                logger.exception("Processing webhook event %s failed", event.webhook_event_id)
                event.attempts += 1
                retry_at = (
                    now + services.retry_delay(event.attempts)
                    if event.attempts < services.MAX_AUTOMATIC_ATTEMPTS
                    else None
                )
                event.status = WebhookStatus.FAILED
                event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                event.next_attempt_at = retry_at
                if retry_at is not None:
                    retries.append((event.pk, retry_at))
            else:
                event.status = outcome.status
                event.outcome = outcome.note[:200]
                event.payload = outcome.payload
                event.processed_at = now
                event.attempts += 1
                event.last_error = ""
                event.next_attempt_at = None
            event.claim = ""
            event.claimed_until = None
            done.append(event)
            counts[event.status] = counts.get(event.status, 0) + 1
        record_results(done)

        def enqueue_retries() -> None:
            for pk, at in retries:
                retry_webhook_event.using(run_after=at).enqueue(pk)

        if retries:
            transaction.on_commit(enqueue_retries)
    return counts


def drain_pending(
    workspace_id: int,
    *,
    budget_seconds: float = 60.0,
    batch_size: int | None = None,
    clock: Clock = timezone.now,
) -> dict[str, int]:
    """Process the workspace's pending events in batches, oldest first, for up to
    `budget_seconds`. Returns counts by resulting status; `more` is 1 when pending events were
    left for the next run (the caller re-enqueues, so one busy workspace does not hold a worker
    forever)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    counts: dict[str, int] = {}
    if workspace is None:
        return counts
    deadline = time.monotonic() + budget_seconds
    if batch_size is None:
        batch_size = SQLITE_BATCH_SIZE if connection.vendor == "sqlite" else BATCH_SIZE
    while True:
        token, pks = claim_batch(workspace_id, batch_size, now=clock())
        if not pks:
            return counts
        try:
            batch = process_batch(workspace, token, pks)
        except Exception:
            # Not a failing event (those are recorded per event) but the batch itself, e.g.
            # the database went away: give the claim back so the next drain starts at once.
            WebhookEvent.objects.filter(pk__in=pks, claim=token).update(claimed_until=None)
            raise
        for status, n in batch.items():
            counts[status] = counts.get(status, 0) + n
        if time.monotonic() > deadline:
            counts["more"] = 1
            return counts


def lease_ends(workspace_id: int, *, now: datetime) -> datetime | None:
    """When the earliest lease of another drainer on a pending event runs out (None: none is
    held): a drain then must look again, in case that drainer died."""
    found: datetime | None = (
        WebhookEvent.objects.filter(
            workspace_id=workspace_id, status=WebhookStatus.PENDING, claimed_until__gte=now
        )
        .order_by("claimed_until")
        .values_list("claimed_until", flat=True)
        .first()
    )
    return found
