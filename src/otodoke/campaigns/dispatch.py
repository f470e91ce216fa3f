"""The dispatcher: many batches in flight at once, paced by the shared rate limiter.

The worker thread does all database work (claims, the rate-limit bucket, results); an asyncio
loop in a helper thread does the HTTP on an `AsyncLineTransport` (aiohttp), so a million-recipient
multicast is paced by LINE's 200 requests/s, not by one request at a time. Results are written
set-based every `flush_seconds`. A personalised send still being planned has its next chunk
rendered and batched here, between claims, whenever few planned batches are left.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from django.db import connection, transaction
from django.db.models import F, Field, Min
from django.utils import timezone

from otodoke.campaigns import claims, ratelimit
from otodoke.campaigns.chunks import ChunkPlanner
from otodoke.campaigns.claims import Job
from otodoke.campaigns.conf import EngineConf
from otodoke.campaigns.line_send import SendOutcome, request_body, send_batch
from otodoke.campaigns.models import (
    Batch,
    BatchStatus,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
    Payload,
    RecipientStatus,
)
from otodoke.core.crypto import revealed
from otodoke.line.client import AsyncLineTransport, backoff_delay, hosts_for
from otodoke.line.client.transport import ASYNC_TIMEOUT, async_session

Outcome = tuple[Job, SendOutcome]

# Seconds between two starts while requests are in flight: ~20 pushes a group at LINE's
# 2,000/s, a delay far below LINE's own answer time.
START_INTERVAL = 0.01


class AsyncSender:
    """An event loop in a daemon thread, sending over one pooled aiohttp session.

    Jobs go to the loop in groups (one cross-thread wake-up per group, not per request) and
    come back through a queue as each answer arrives, so the worker thread never waits on
    hundreds of futures at once.
    """

    def __init__(self, base_url: str, token: str, max_in_flight: int, timeout: float) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.done: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._tasks: set[asyncio.Task[None]] = set()
        limit = aiohttp.ClientTimeout(
            total=None,
            connect=min(ASYNC_TIMEOUT.connect or timeout, timeout),
            sock_read=timeout,
        )

        async def make() -> AsyncLineTransport:
            # The session belongs to this loop, so it is made on it.
            session = async_session(max_connections=max_in_flight, timeout=limit)
            return AsyncLineTransport(base_url, token, http=session)

        self.transport = asyncio.run_coroutine_threadsafe(make(), self.loop).result()

    def submit(self, jobs: list[Job]) -> None:
        """Start sending `jobs`; each comes back on `done` with its outcome, whatever happens."""
        self.loop.call_soon_threadsafe(self._start, jobs)

    def _start(self, jobs: list[Job]) -> None:
        for job in jobs:
            task = self.loop.create_task(self._send(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, job: Job) -> None:
        assert job.body is not None
        try:
            out = await send_batch(self.transport, job.endpoint, job.body, job.retry_key)
        except Exception as exc:  # a bug here must not lose track of the batch
            # Unanswered as far as we know: the batch is retried with the same retry key.
            out = SendOutcome("retry", False, error=f"sender error: {exc!r}"[:2000])
        self.done.put((job, out))

    def close(self) -> None:
        async def close_all() -> None:
            await self.transport.http.close()

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextmanager
def sender_for(delivery: Delivery, conf: EngineConf) -> Iterator[AsyncSender]:
    workspace = delivery.campaign.workspace
    sender = AsyncSender(
        hosts_for(workspace.api_base_url).messaging,
        revealed(workspace.channel_access_token),
        conf.max_in_flight,
        conf.send_timeout,
    )
    try:
        yield sender
    finally:
        sender.close()


def _attach_bodies(
    delivery: Delivery, jobs: list[Job], payloads: dict[int, Any], batch_size: int
) -> list[Job]:
    """Re-check who may still be sent to (set-based, one statement for the group), then build
    the request bodies. Returns the jobs that still go out (a batch nobody is left in is
    cancelled; a broadcast someone withdrew consent from becomes multicast batches)."""
    jobs = [j for j in jobs if not claims.replan_broadcast(delivery.pk, j, batch_size)]
    claims.recheck(delivery.pk, jobs)
    to = claims.recipients_of(delivery.pk, [j.number for j in jobs])
    jobs = claims.shrink(jobs, to)
    if len(payloads) > 1000:
        payloads.clear()  # personalised sends: a payload per batch, nothing worth keeping
    missing = {j.payload_id for j in jobs} - payloads.keys()
    for payload in Payload.objects.filter(id__in=missing):
        payloads[payload.pk] = payload.messages
    for job in jobs:
        job.body = request_body(
            job.endpoint,
            payloads[job.payload_id],
            to[job.number],
            delivery.campaign.notification_disabled,
        )
    return jobs


_BATCH_FIELDS = (
    "status",
    "lease_token",
    "lease_until",
    "http_status",
    "request_id",
    "accepted_request_id",
    "last_error",
    "error_details",
    "uncertain_since",
    "next_attempt_at",
    "sent_at",
)


def _write_batches(batches: list[Batch]) -> None:
    """One prepared UPDATE run for every row (executemany): each batch has its own request ID,
    and a CASE-per-column bulk_update grows quadratically with the flush size."""
    if not batches:
        return
    fields: list[Field[Any, Any]] = []
    for name in _BATCH_FIELDS:
        field = Batch._meta.get_field(name)
        assert isinstance(field, Field)
        fields.append(field)
    qn = connection.ops.quote_name
    assignments = ", ".join(f"{qn(str(f.column))} = %s" for f in fields)
    sql = f"UPDATE {qn(Batch._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
    rows = [
        [f.get_db_prep_save(getattr(b, f.attname), connection) for f in fields] + [b.id]
        for b in batches
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def record(delivery_id: int, outcomes: list[Outcome], conf: EngineConf) -> str | None:
    """Write batch and recipient results in one transaction. Returns a stop reason, if any:
    "quota" (pause), "auth" (fail)."""
    now = timezone.now()
    stop: str | None = None
    batches: list[Batch] = []
    failed: dict[str, list[int]] = {}
    for job, out in outcomes:
        # An answered attempt leaves the batch as certain as it was before it; an attempt
        # with no answer may have been accepted, so the window starts (if not started yet).
        uncertain = (
            job.uncertain_since if out.answered else (job.uncertain_since or job.attempt_started)
        )
        batch = Batch(
            id=job.batch_id,
            lease_token=None,
            lease_until=None,
            http_status=out.http_status,
            request_id=out.request_id,
            accepted_request_id=out.accepted_request_id,
            last_error=out.error,
            error_details=out.details or [],
            uncertain_since=uncertain,
            status=BatchStatus.PENDING,
            next_attempt_at=None,
            sent_at=None,
        )
        if out.kind == "sent":
            batch.status, batch.sent_at = BatchStatus.SENT, now
        elif out.kind == "failed" or (
            out.kind == "retry" and job.attempts >= conf.max_attempts and uncertain is None
        ):
            batch.status = BatchStatus.FAILED
            failed.setdefault(out.error[:200] or "failed", []).append(job.number)
        else:
            if out.kind in ("quota", "auth"):
                stop = stop or out.kind
            delay = backoff_delay(job.attempts, base=0.5, cap=60.0)
            batch.next_attempt_at = now + timedelta(seconds=delay)
        batches.append(batch)
    with transaction.atomic():
        mine = set(
            Batch.objects.filter(
                id__in=[b.id for b in batches],
                lease_token__in={job.lease_token for job, _ in outcomes},
            ).values_list("id", flat=True)
        )
        _write_batches([b for b in batches if b.id in mine])
        mine_sent = {b.id for b in batches if b.id in mine and b.status == BatchStatus.SENT}
        # Successes are counted from the batch rows; their recipient rows are settled in one
        # pass later (`claims.settle_sent`), off the send loop.
        sent = sum(job.recipient_count for job, _ in outcomes if job.batch_id in mine_sent)
        pending = DeliveryRecipient.objects.filter(
            delivery_id=delivery_id, status=RecipientStatus.PENDING
        )
        failed_rows = 0
        for reason, numbers in failed.items():
            failed_rows += pending.filter(batch_no__in=numbers).update(
                status=RecipientStatus.FAILED, reason=reason
            )
        Delivery.objects.filter(pk=delivery_id).update(
            sent=F("sent") + sent, failed=F("failed") + failed_rows
        )
    return stop


def _next_retry_in(delivery_id: int) -> float | None:
    """Seconds until the next backed-off batch is due; None when no batch waits for a retry
    (those leased by other workers are theirs; a dead worker's lease is the watchdog's)."""
    due: datetime | None = Batch.objects.filter(
        delivery_id=delivery_id, status=BatchStatus.PENDING
    ).aggregate(due=Min("next_attempt_at"))["due"]
    if due is None:
        pending = Batch.objects.filter(delivery_id=delivery_id, status=BatchStatus.PENDING)
        return 0.0 if pending.exists() else None
    return max(0.0, (due - timezone.now()).total_seconds())


def run_dispatch(delivery: Delivery, conf: EngineConf, *, deadline: float | None = None) -> str:
    """Send every claimable batch of a SENDING delivery. Returns why it stopped: "drained"
    (nothing left this worker can claim), "quota", "auth", "stopped" or "deadline"."""
    why = _send_loop(delivery, conf, deadline)
    claims.settle_sent(delivery.pk)
    return why


def _planner(delivery: Delivery, conf: EngineConf) -> ChunkPlanner | None:
    """The chunk planner of a personalised send still being planned (None otherwise)."""
    fresh = Delivery.objects.filter(pk=delivery.pk).values("planned_at", "plan_links").first()
    if fresh is None or fresh["planned_at"] is not None:
        return None
    delivery.planned_at, delivery.plan_links = None, fresh["plan_links"]
    return ChunkPlanner(delivery, batch_size=conf.multicast_size, chunk_size=conf.plan_chunk)


def _send_loop(delivery: Delivery, conf: EngineConf, deadline: float | None) -> str:
    channel = delivery.campaign.workspace.channel_id
    planner = _planner(delivery, conf)
    # Batches this worker planned and nobody has claimed yet (as far as it knows): the next
    # chunk is planned when fewer are left than two claim windows, so rendering keeps ahead
    # of LINE's pace without holding up the requests in flight longer than it must.
    ready = 0
    payloads: dict[int, Any] = {}
    waiting: deque[Job] = deque()  # claimed, not yet sent
    inflight = 0
    results: list[Outcome] = []
    last_flush = time.monotonic()
    last_check = last_flush - 1.0  # check status and stale batches before the first claim
    last_start = 0.0
    stopping: str | None = None
    cancelled = False
    with sender_for(delivery, conf) as sender:
        while True:
            while True:
                try:
                    results.append(sender.done.get_nowait())
                except queue.Empty:
                    break
                inflight -= 1
            now = time.monotonic()
            if results and (now - last_flush >= conf.flush_seconds or not inflight):
                limited = {job.endpoint for job, out in results if out.kind == "rate_limited"}
                stop = record(delivery.pk, results, conf)
                results, last_flush = [], now
                stopping = stopping or stop
                for endpoint in limited:
                    # LINE's bucket is empty: make every worker wait, not just this one.
                    rate = conf.rates.get(endpoint, conf.rates["other"]) * conf.rate_share
                    ratelimit.drain(ratelimit.bucket_key(channel, endpoint), 1.0, rate)
            if stopping is None and now - last_check >= 0.5:
                last_check = now
                claims.expire_stale(delivery.pk, conf.retry_window_seconds)
                status = Delivery.objects.filter(pk=delivery.pk).values_list("status", flat=True)
                now_status = status.first()
                if now_status != DeliveryStatus.SENDING:
                    stopping = "stopped"
                    cancelled = now_status == DeliveryStatus.CANCELLED
                elif deadline is not None and now > deadline:
                    stopping = "deadline"
            if stopping is not None:
                if waiting:
                    claims.release(
                        list(waiting), cancelled_delivery=delivery.pk if cancelled else None
                    )
                    waiting.clear()
                if not inflight and not results:
                    return stopping
            else:
                # Claim a full window at a time: per-claim overhead, not per batch.
                if len(waiting) < max(1, conf.max_in_flight // 2):
                    jobs = claims.claim(
                        delivery.pk,
                        limit=conf.max_in_flight - len(waiting),
                        lease_seconds=conf.lease_seconds,
                        window_seconds=conf.retry_window_seconds,
                    )
                    if jobs:
                        waiting.extend(jobs)
                        ready = max(0, ready - len(jobs))
                    elif (
                        not waiting
                        and not inflight
                        and not results
                        and (planner is None or planner.done)
                    ):
                        wait_for = _next_retry_in(delivery.pk)
                        if wait_for is None:
                            return "drained"
                        time.sleep(min(wait_for, 0.5))
                # Start in groups: each start costs a token grant, a recipients read and an
                # attempt stamp whatever its size. Topping up on every answer made groups of
                # one or two at 2,000 pushes/s, and those round trips capped a PostgreSQL send.
                if waiting and (not inflight or now - last_start >= START_INTERVAL):
                    last_start = now
                    inflight += _start_some(sender, waiting, inflight, delivery, payloads, conf)
                # After the starts, so the requests just begun are in flight while it renders.
                if planner is not None and not planner.done and ready < 2 * conf.max_in_flight:
                    # Another worker planning the same chunk makes this wait for its commit
                    # (the cursor's row lock), then find the cursor moved.
                    size = planner.next_size(bool(inflight), conf.max_in_flight)
                    ready += planner.step(size) or 0
            if inflight:
                # Sleep until the first answer (or briefly, to flush and top up).
                try:
                    results.append(sender.done.get(timeout=0.02))
                    inflight -= 1
                except queue.Empty:
                    pass
            elif not waiting and stopping is None:
                time.sleep(0.05)


def _start_some(
    sender: AsyncSender,
    waiting: deque[Job],
    inflight: int,
    delivery: Delivery,
    payloads: dict[int, Any],
    conf: EngineConf,
) -> int:
    """Send as many waiting jobs of the first job's endpoint as the shared bucket grants.
    Returns how many were started. Bodies are built here, for the granted jobs only: loading
    a whole claim's recipients at once (256 × 500 rows) stalled the loop at every claim."""
    channel = delivery.campaign.workspace.channel_id
    endpoint = waiting[0].endpoint
    same = [j for j in waiting if j.endpoint == endpoint]
    wanted = min(conf.max_in_flight - inflight, len(same))
    # Top up in groups (a token grant and an attempt stamp are one write each), unless little
    # is in flight.
    if wanted <= 0 or (wanted < conf.max_in_flight // 8 and inflight >= conf.max_in_flight // 2):
        return 0
    rate = conf.rates.get(endpoint, conf.rates["other"]) * conf.rate_share
    granted, wait = ratelimit.take_tokens(
        ratelimit.bucket_key(channel, endpoint),
        rate=rate,
        capacity=max(1.0, rate / 4),
        wanted=wanted,
    )
    if not granted:
        if wait:
            time.sleep(min(wait, 0.05))
        return 0
    picked = same[:granted]
    chosen = {id(j) for j in picked}
    rest = [j for j in waiting if id(j) not in chosen]
    waiting.clear()
    waiting.extend(rest)
    picked = _attach_bodies(delivery, picked, payloads, conf.multicast_size)
    if not picked:
        return 0
    claims.mark_attempting(picked)
    sender.submit(picked)
    return len(picked)
