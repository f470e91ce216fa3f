"""Making the recorded `RelinkChunk` calls: claimed in batches, sent concurrently, marked done
in batches.

A round claims up to `CLAIM` pending chunks (one transaction, leased), takes their rate-limit
tokens from the per-channel bucket shared by every worker (`campaigns.ratelimit`), and hands
the calls to a bounded pool of threads (`OTODOKE_RICHMENU_IN_FLIGHT`, default 16) sharing one
pooled HTTP client. Only the calling thread touches the database: when the round's answers
are in, one transaction marks the accepted chunks done and their assignments applied (one
UPDATE per target menu), another marks the refused ones failed.

Guarantees kept from the one-at-a-time version:

- the intent (the chunk row) is written before any call (`sync.plan`);
- a chunk marked done is never sent again; a chunk LINE accepted is marked done even when the
  worker is being stopped (an exception from one call, even `SystemExit`, first waits for the
  other calls in flight and records theirs, then propagates);
- a transient failure (429, 5xx, timeout, after `with_backoff`) leaves its chunk pending with
  its lease dropped, calls not yet started are skipped, and the round ends the run;
- a hard kill (no Python left to record anything) re-sends only the chunks whose lease it
  held, which LINE applies the same way again (a bulk link replaces the user's link).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import defaultdict
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from otodoke.campaigns.ratelimit import bucket_key, take_tokens
from otodoke.line.client import LineApiError, LineClient, with_backoff
from otodoke.richmenus.models import ChunkStatus, RelinkChunk, RichMenuAssignment
from otodoke.workspaces.models import Workspace

LEASE = dt.timedelta(seconds=60)
CLAIM = 50  # chunks claimed (and marked done) per round: 25,000 users at most
GRANT = 50  # rate-limit tokens taken per transaction


def in_flight() -> int:
    """Bulk calls in flight at once per worker."""
    return max(1, int(getattr(settings, "OTODOKE_RICHMENU_IN_FLIGHT", 16)))


def bulk_rate() -> float:
    """Bulk link/unlink requests per second per channel (LINE: 2,000/s)."""
    return float(getattr(settings, "OTODOKE_RICHMENU_BULK_RATE", 2000))


@dataclass
class Tally:
    calls: int = 0
    linked: int = 0
    unlinked: int = 0
    failed_chunks: int = 0
    errors: list[str] | None = None


class Pacer:
    """Tokens from the per-channel bucket shared by every worker, taken GRANT at a time."""

    def __init__(self, workspace: Workspace) -> None:
        self.key = bucket_key(workspace.channel_id, "richmenu.bulk")
        self.rate = bulk_rate()
        self.left = 0

    def wait(self) -> None:
        while self.left == 0:
            granted, pause = take_tokens(
                self.key, rate=self.rate, capacity=max(1.0, self.rate), wanted=GRANT
            )
            self.left = granted
            if not granted:
                time.sleep(pause)
        self.left -= 1


def claim(workspace: Workspace, now: dt.datetime) -> list[RelinkChunk]:
    """Up to CLAIM pending chunks nobody holds, oldest first, leased to this worker."""
    with transaction.atomic():
        free = RelinkChunk.objects.filter(workspace=workspace, status=ChunkStatus.PENDING).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        )
        if connection.vendor == "postgresql":
            free = free.select_for_update(skip_locked=True)
        ids = list(free.order_by("id").values_list("pk", flat=True)[:CLAIM])
        if not ids:
            return []
        RelinkChunk.objects.filter(pk__in=ids).update(
            lease_until=now + LEASE, attempts=F("attempts") + 1
        )
    return list(
        RelinkChunk.objects.filter(pk__in=ids)
        .only("pk", "line_menu_id", "contact_ids", "user_ids")
        .order_by("id")
    )


def _ids(ids: list[int]) -> list[int] | RawSQL:
    """`contact_id__in=`: on PostgreSQL a plain IN list (≤ CLAIM × 500 IDs, answered from the
    unique index, where an IN over unnest() was planned as a scan); on SQLite one JSON
    parameter, past its limit on bound variables."""
    if connection.vendor == "postgresql":
        return ids
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))


# What a call came to: None (accepted), the LINE error, or "skipped" (not started).
Answer = LineApiError | str | None


def _call(client: LineClient, chunk: RelinkChunk, stop: threading.Event) -> Answer:
    if stop.is_set():
        return "skipped"
    menu_id, user_ids = chunk.line_menu_id, list(chunk.user_ids)

    def call() -> None:
        if menu_id:
            client.link_rich_menu_to_users(menu_id, user_ids)
        else:
            client.unlink_rich_menu_from_users(user_ids)

    try:
        with_backoff(call)
    except LineApiError as exc:
        if exc.transient:
            stop.set()  # the channel is struggling: start no more calls this run
        return exc
    return None


def run_round(
    chunks: list[RelinkChunk],
    client: LineClient,
    pacer: Pacer,
    pool: ThreadPoolExecutor,
    tally: Tally,
) -> bool:
    """Send the claimed chunks concurrently and record the answers; False after a transient
    failure (the rest is retried on a later run)."""
    stop = threading.Event()
    futures: dict[Future[Answer], RelinkChunk] = {}
    crash: BaseException | None = None
    try:
        for chunk in chunks:
            pacer.wait()
            if stop.is_set():
                break
            futures[pool.submit(_call, client, chunk, stop)] = chunk
    except BaseException as exc:  # stopped while pacing: still record what was sent
        crash = exc
        stop.set()
    finished, _pending = wait(futures, return_when=FIRST_EXCEPTION)
    if any(f.exception() is not None for f in finished):
        stop.set()  # a call blew up (a bug, a kill): start no more, let the others land
        finished, _pending = wait(futures)
    answers: dict[int, Answer] = {}
    for future, chunk in futures.items():
        error = future.exception()
        if error is not None:
            crash = crash or error
            continue
        answers[chunk.pk] = future.result()
    _record(chunks, answers, tally)
    if crash is not None:
        raise crash
    return not stop.is_set()


def _record(chunks: list[RelinkChunk], answers: dict[int, Answer], tally: Tally) -> None:
    """Few statements for the whole round: done chunks and their assignments, failed chunks,
    released leases."""
    done: list[RelinkChunk] = []
    failed: dict[int, str] = {}
    release: list[int] = []
    errors = tally.errors if tally.errors is not None else []
    for chunk in chunks:
        if chunk.pk not in answers:  # never sent, or its call raised: lease lapses / release
            release.append(chunk.pk)
            continue
        answer = answers[chunk.pk]
        if answer is None:
            done.append(chunk)
            tally.calls += 1
            if chunk.line_menu_id:
                tally.linked += len(chunk.user_ids)
            else:
                tally.unlinked += len(chunk.user_ids)
        elif isinstance(answer, LineApiError):
            tally.calls += 1
            errors.append(answer.describe())
            if answer.transient:
                release.append(chunk.pk)
            else:
                failed[chunk.pk] = answer.describe()[:2000]
                tally.failed_chunks += 1
        else:
            release.append(chunk.pk)
    tally.errors = errors
    done_at = timezone.now()
    by_menu: dict[str, list[int]] = defaultdict(list)
    for chunk in done:
        by_menu[chunk.line_menu_id].extend(chunk.contact_ids)
    with transaction.atomic():
        if done:
            RelinkChunk.objects.filter(pk__in=[c.pk for c in done]).update(
                status=ChunkStatus.DONE, done_at=done_at, lease_until=None
            )
        for menu_id, contact_ids in by_menu.items():
            RichMenuAssignment.objects.filter(contact_id__in=_ids(contact_ids)).update(
                applied_line_id=menu_id, applied_at=done_at
            )
        for pk, error in failed.items():
            RelinkChunk.objects.filter(pk=pk).update(
                status=ChunkStatus.FAILED, error=error, lease_until=None
            )
        if release:
            RelinkChunk.objects.filter(pk__in=release).update(lease_until=None)
