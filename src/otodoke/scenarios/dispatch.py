"""Sending recorded scenario batches: many requests in flight per channel, paced by the
per-channel token bucket shared with campaigns.

The HTTP goes through the campaign engine's `AsyncSender` (an aiohttp loop in a helper thread),
so 10,000 personalised pushes due in one minute go out at LINE's rate, not one request at a
time; every database write (claims, attempts, outcomes) stays on the worker thread.
"""

from __future__ import annotations

import datetime as dt
import queue
import time
import uuid
from collections import defaultdict

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.campaigns import ratelimit
from otodoke.campaigns.claims import Job
from otodoke.campaigns.conf import EngineConf, engine_conf
from otodoke.campaigns.dispatch import AsyncSender
from otodoke.campaigns.line_send import SendOutcome, request_body
from otodoke.core.crypto import revealed
from otodoke.line.client import hosts_for
from otodoke.scenarios.models import SendBatch, SendStatus, StepSend
from otodoke.scenarios.sending import (
    DispatchResult,
    claim_batches,
    expire_stale,
    hold,
    hold_reason,
    record_outcome,
    record_sent,
    release,
)
from otodoke.workspaces.models import Workspace


def _take(channel: str, endpoint: str, wanted: int, conf: EngineConf, deadline: float) -> int:
    """Tokens for up to `wanted` requests from the shared bucket; 0 if the budget runs out."""
    rate = conf.rates.get(endpoint, conf.rates["other"]) * conf.rate_share
    key = ratelimit.bucket_key(channel, endpoint)
    while True:
        granted, wait = ratelimit.take_tokens(
            key, rate=rate, capacity=max(1.0, rate / 4), wanted=wanted
        )
        if granted:
            return granted
        if time.monotonic() + wait > deadline:
            return 0
        time.sleep(min(max(wait, 0.001), 0.5))


def _jobs(batches: list[SendBatch], token: uuid.UUID) -> list[Job]:
    """Request bodies from stored rows only (every retry is byte-for-byte the same request)."""
    to: dict[int, list[str]] = defaultdict(list)
    rows = StepSend.objects.filter(batch_id__in=[b.pk for b in batches]).order_by("id")
    for batch_id, user_id in rows.values_list("batch_id", "line_user_id"):
        to[batch_id].append(user_id)
    return [
        Job(
            batch_id=b.pk,
            number=0,
            endpoint=b.endpoint,
            retry_key=str(b.retry_key),
            recipient_count=b.recipient_count,
            lease_token=token,
            payload_id=0,
            uncertain_since=b.uncertain_since,
            attempts=b.attempts,
            body=request_body(b.endpoint, b.messages, to[b.pk], b.notification_disabled),
        )
        for b in batches
    ]


def _send(
    sender: AsyncSender,
    batches: list[SendBatch],
    token: uuid.UUID,
    conf: EngineConf,
    started: dt.datetime,
) -> list[tuple[SendBatch, SendOutcome]]:
    """Start every request at once; return the outcomes that came back in time (the rest keep
    their lease, which expires, and are retried with the same key)."""
    jobs = _jobs(batches, token)
    # Written before the requests leave: an attempt we never hear back from is uncertain.
    SendBatch.objects.filter(id__in=[b.pk for b in batches]).update(
        attempts=F("attempts") + 1, uncertain_since=Coalesce("uncertain_since", started)
    )
    for batch in batches:
        batch.attempts += 1
    sender.submit(jobs)
    by_id = {b.pk: b for b in batches}
    out: list[tuple[SendBatch, SendOutcome]] = []
    limit = time.monotonic() + conf.send_timeout * 2 + 5
    while len(out) < len(jobs):
        try:
            job, outcome = sender.done.get(timeout=max(0.01, limit - time.monotonic()))
        except queue.Empty:
            break
        out.append((by_id[job.batch_id], outcome))
    return out


def _sender(workspace: Workspace, conf: EngineConf) -> AsyncSender:
    return AsyncSender(
        hosts_for(workspace.api_base_url).messaging,
        revealed(workspace.channel_access_token),
        conf.max_in_flight,
        conf.send_timeout,
    )


def dispatch(
    *,
    now: dt.datetime | None = None,
    budget_seconds: float = 30.0,
    workspace_id: int | None = None,
    conf: EngineConf | None = None,
) -> DispatchResult:
    """Send every claimable batch until none is left or the budget is spent. `now` fixes the
    clock (tests): backed-off batches are due after it, so they wait for a later tick."""
    conf = conf or engine_conf()
    result = DispatchResult()
    deadline = time.monotonic() + budget_seconds
    senders: dict[int, AsyncSender] = {}
    try:
        while time.monotonic() < deadline:
            moment = now or timezone.now()
            expire_stale(moment, conf)
            token, batches = claim_batches(
                now=moment, limit=conf.max_in_flight, conf=conf, workspace_id=workspace_id
            )
            if not batches:
                break
            groups: dict[int, list[SendBatch]] = defaultdict(list)
            for batch in batches:
                groups[batch.workspace_id].append(batch)
            for group in groups.values():
                if not _send_group(group, token, conf, deadline, now, senders, result):
                    return result
    finally:
        for sender in senders.values():
            sender.close()
    return result


def _send_group(
    group: list[SendBatch],
    token: uuid.UUID,
    conf: EngineConf,
    deadline: float,
    now: dt.datetime | None,
    senders: dict[int, AsyncSender],
    result: DispatchResult,
) -> bool:
    """One workspace's claimed batches; False when the time budget ran out."""
    workspace = group[0].workspace
    remaining = list(group)
    while remaining:
        if workspace.pk in result.held:
            release(remaining, token)
            return True
        endpoint = remaining[0].endpoint
        same = [b for b in remaining if b.endpoint == endpoint]
        granted = _take(workspace.channel_id, endpoint, len(same), conf, deadline)
        if not granted:
            release(remaining, token)
            return False
        picked = same[:granted]
        chosen = {b.pk for b in picked}
        remaining = [b for b in remaining if b.pk not in chosen]
        if workspace.pk not in senders:
            senders[workspace.pk] = _sender(workspace, conf)
        started = now or timezone.now()
        outcomes = _send(senders[workspace.pk], picked, token, conf, started)
        # Accepted requests are written together; anything else one by one (rare, and each
        # may hold the workspace or back off on its own).
        accepted = [(b, out) for b, out in outcomes if out.kind == "sent"]
        written = record_sent(accepted, token, started, now or timezone.now())
        result.sent += sum(b.recipient_count for b, _ in accepted if b.pk in written)
        for batch, out in outcomes:
            if out.kind != "sent":
                _apply(batch, out, token, conf, started, now, result)
    return True


def _apply(
    batch: SendBatch,
    out: SendOutcome,
    token: uuid.UUID,
    conf: EngineConf,
    started: dt.datetime,
    now: dt.datetime | None,
    result: DispatchResult,
) -> None:
    workspace = batch.workspace
    if out.kind == "rate_limited":
        # LINE's bucket is empty: make every worker (campaigns too) wait, not just this one.
        rate = conf.rates.get(batch.endpoint, conf.rates["other"]) * conf.rate_share
        ratelimit.drain(ratelimit.bucket_key(workspace.channel_id, batch.endpoint), 1.0, rate)
    status = record_outcome(batch, token, out, conf, started, now or timezone.now())
    if status == SendStatus.SENT:
        result.sent += batch.recipient_count
    elif status == SendStatus.FAILED:
        result.failed += batch.recipient_count
    else:
        result.retrying += batch.recipient_count
    if out.kind == "quota":
        result.held.add(workspace.pk)
        hold(workspace.pk, hold_reason())
    elif out.kind == "auth":
        result.held.add(workspace.pk)
        reason = _("LINE refused the channel access token: %(error)s") % {"error": out.error[:300]}
        hold(workspace.pk, reason)
