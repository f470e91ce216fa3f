"""Scenario sends: the ledger rows, then the LINE requests, exactly once.

`record_sends` writes, in one transaction, a `StepSend` row per (enrolment, step) — unique, so
a step can be recorded only once — and the `SendBatch` rows that will carry them, each with its
retry key. Identical renders share a multicast (up to 500); a render of its own is a push.
`dispatch` then sends pending batches under leases, paced by the per-channel token bucket the
campaign engine uses (`campaigns.ratelimit`), with the campaign engine's reading of LINE's
answers (`campaigns.line_send.classify`): 409 = already accepted = sent; no answer or 5xx =
retry with the same key; 429 = back off (or, the monthly limit, hold); other 4xx = failed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from otodoke.campaigns.conf import EngineConf, engine_conf
from otodoke.campaigns.line_send import SendOutcome, request_body
from otodoke.campaigns.planning import digest
from otodoke.campaigns.quota import fetch_quota
from otodoke.contacts.models import Contact
from otodoke.contacts.tagging import tag_names_by_contact
from otodoke.line.client import LineApiError, LineClient, backoff_delay
from otodoke.messaging.links import click_url, find_links, rewrite_links
from otodoke.messaging.personalize import (
    BusinessData,
    TemplateProblem,
    compile_messages,
    is_personalised,
    recipient_context,
    uses_variable,
)
from otodoke.messaging.validation import limit_problems
from otodoke.scenarios import schema
from otodoke.scenarios.models import (
    Scenario,
    ScenarioVersion,
    SendBatch,
    SendStatus,
    StepLink,
    StepSend,
)
from otodoke.workspaces.models import Workspace

# How long a send step waits when the month's quota cannot take it, before it looks again.
QUOTA_HOLD = dt.timedelta(minutes=15)


@dataclass
class Recipient:
    enrolment_id: int
    contact_id: int
    line_user_id: str
    name: str
    attributes: dict[str, Any]


def _links(
    workspace: Workspace, version: ScenarioVersion, index: int, urls: list[str]
) -> dict[str, int]:
    """The tracked link of each URL of this step, created once per version and step."""
    from otodoke.tracking.services import create_tracked_link

    known = dict(
        StepLink.objects.filter(version=version, step_index=index, url__in=urls).values_list(
            "url", "link_id"
        )
    )
    for url in urls:
        if url not in known:
            link = create_tracked_link(workspace, url)
            StepLink.objects.create(version=version, step_index=index, url=url, link_id=link.pk)
            known[url] = link.pk
    return known


def quota_room(workspace: Workspace) -> int | None:
    """Messages LINE's monthly quota can still take, less those recorded and not yet sent;
    None when LINE sets no limit (or could not be asked: its own 429 then stops the send)."""
    try:
        with LineClient.for_workspace(workspace) as client:
            quota = fetch_quota(client)
    except LineApiError:
        return None
    if quota.remaining is None:
        return None
    queued = SendBatch.objects.filter(
        workspace=workspace, status__in=[SendStatus.PENDING, SendStatus.IN_FLIGHT]
    ).aggregate(n=Coalesce(Sum("recipient_count"), 0))["n"]
    return max(0, quota.remaining - int(queued))


def hold_reason() -> str:
    return _(
        "LINE's monthly message limit is reached: scenario messages wait and go out once the "
        "quota allows it."
    )


def _business_data(
    workspace: Workspace, messages: list[dict[str, Any]], recipients: list[Recipient]
) -> dict[int, BusinessData]:
    """The shop's data about these recipients (customer number, last visit, visits, spend and,
    when a template reads them, tags), as campaigns see it: one query, two with tags."""
    ids = [r.contact_id for r in recipients]
    tags = tag_names_by_contact(ids) if uses_variable(messages, "tags") else {}
    rows = Contact.objects.filter(workspace=workspace, pk__in=ids).values_list(
        "pk", "external_id", "last_visit_at", "visit_count", "total_spent"
    )
    return {
        pk: BusinessData(
            customer_number=number or "",
            last_visit_at=last_visit,
            visit_count=visits,
            total_spent=spent,
            tags=tuple(tags.get(pk, ())),
        )
        for pk, number, last_visit, visits, spent in rows
    }


def record_sends(
    workspace: Workspace,
    version: ScenarioVersion,
    index: int,
    step: schema.SendMessage,
    recipients: list[Recipient],
    *,
    now: dt.datetime,
    conf: EngineConf | None = None,
) -> set[int]:
    """Write the ledger and the batches for these recipients; returns the enrolment IDs now
    recorded (including those recorded before). Raises IntegrityError only if another worker
    recorded one of them at the same moment (the caller retries later)."""
    conf = conf or engine_conf()
    ids = [r.enrolment_id for r in recipients]
    done = set(
        StepSend.objects.filter(enrolment_id__in=ids, step_index=index).values_list(
            "enrolment_id", flat=True
        )
    )
    todo = [r for r in recipients if r.enrolment_id not in done]
    if not todo:
        return done
    urls = find_links(step.messages) if step.track_links else []
    links = _links(workspace, version, index, urls) if urls else {}
    compiled = compile_messages(step.messages)
    personal = bool(links) or is_personalised(step.messages)
    plain = None if personal else compiled.render({})
    groups: dict[str, list[Recipient]] = defaultdict(list)
    rendered: dict[str, list[dict[str, Any]]] = {}
    failed: list[tuple[Recipient, str]] = []
    business = _business_data(workspace, step.messages, todo) if plain is None else {}
    tz = workspace.tzinfo
    today = now.astimezone(tz).date()
    for r in todo:
        try:
            out = (
                plain
                if plain is not None
                else compiled.render(
                    recipient_context(
                        r.name, r.attributes, business.get(r.contact_id), tz=tz, today=today
                    )
                )
            )
        except TemplateProblem as exc:
            failed.append((r, str(exc)[:200]))
            continue
        if links:
            out = rewrite_links(
                out, {url: click_url(link_id, r.contact_id) for url, link_id in links.items()}
            )
        key = digest(out)
        if key not in rendered:
            problems = limit_problems(out)
            if problems:
                failed.append((r, str(problems[0])[:200]))
                continue
            rendered[key] = out
        groups[key].append(r)
    # One INSERT per 500 batches, not one per batch: a personalised step is a push per
    # recipient, so 10,000 due at once are 10,000 batches (each with its retry key).
    chunks = [
        (key, members[start : start + conf.multicast_size])
        for key, members in groups.items()
        for start in range(0, len(members), conf.multicast_size)
    ]
    batches = [
        SendBatch(
            workspace=workspace,
            endpoint="push" if len(chunk) == 1 else "multicast",
            messages=rendered[key],
            notification_disabled=step.notification_disabled,
            recipient_count=len(chunk),
        )
        for key, chunk in chunks
    ]
    with transaction.atomic():
        SendBatch.objects.bulk_create(batches, batch_size=500)
        rows: list[StepSend] = [
            _ledger_row(version, index, r, now, batch=batch)
            for batch, (_key, chunk) in zip(batches, chunks, strict=True)
            for r in chunk
        ]
        rows += [
            _ledger_row(version, index, r, now, status=SendStatus.FAILED, reason=why)
            for r, why in failed
        ]
        StepSend.objects.bulk_create(rows, batch_size=500)
    return done | {r.enrolment_id for r in todo}


def _ledger_row(
    version: ScenarioVersion,
    index: int,
    r: Recipient,
    now: dt.datetime,
    *,
    batch: SendBatch | None = None,
    status: str = SendStatus.PENDING,
    reason: str = "",
) -> StepSend:
    return StepSend(
        enrolment_id=r.enrolment_id,
        step_index=index,
        scenario_id=version.scenario_id,
        version=version,
        contact_id=r.contact_id,
        line_user_id=r.line_user_id,
        batch=batch,
        status=status,
        reason=reason,
        created_at=now,
    )


# --- dispatch --------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    held: set[int] = field(default_factory=set)  # workspaces stopped by the monthly quota


def _claimable(now: dt.datetime) -> Q:
    return Q(status=SendStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(status=SendStatus.IN_FLIGHT, lease_until__lt=now)


def claim_batches(
    *, now: dt.datetime, limit: int, conf: EngineConf, workspace_id: int | None = None
) -> tuple[uuid.UUID, list[SendBatch]]:
    token = uuid.uuid4()
    fresh = Q(uncertain_since__isnull=True) | Q(
        uncertain_since__gte=now - dt.timedelta(seconds=conf.retry_window_seconds)
    )
    with transaction.atomic():
        candidates = SendBatch.objects.filter(_claimable(now), fresh)
        if workspace_id is not None:
            candidates = candidates.filter(workspace_id=workspace_id)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.order_by("id").values_list("id", flat=True)[:limit])
        if ids:
            SendBatch.objects.filter(id__in=ids).filter(_claimable(now), fresh).update(
                status=SendStatus.IN_FLIGHT,
                lease_token=token,
                lease_until=now + dt.timedelta(seconds=conf.lease_seconds),
            )
    batches = list(
        SendBatch.objects.filter(id__in=ids, lease_token=token)
        .select_related("workspace")
        .order_by("id")
    )
    return token, batches


def expire_stale(now: dt.datetime, conf: EngineConf) -> int:
    """Batches that may have been accepted longer ago than the retry-key window are never
    resent: their sends become unknown."""
    cutoff = now - dt.timedelta(seconds=conf.retry_window_seconds)
    with transaction.atomic():
        stale = list(
            SendBatch.objects.filter(_claimable(now), uncertain_since__lt=cutoff).values_list(
                "id", flat=True
            )
        )
        if not stale:
            return 0
        SendBatch.objects.filter(id__in=stale).update(
            status=SendStatus.UNKNOWN,
            lease_token=None,
            last_error="retry-key window passed without a known outcome",
        )
        return StepSend.objects.filter(batch_id__in=stale, status=SendStatus.PENDING).update(
            status=SendStatus.UNKNOWN, reason="retry window passed"
        )


def body_of(batch: SendBatch) -> dict[str, Any]:
    """Built from stored rows only, so every retry is the request the key was first used with."""
    to = list(
        StepSend.objects.filter(batch=batch).order_by("id").values_list("line_user_id", flat=True)
    )
    return request_body(batch.endpoint, batch.messages, to, batch.notification_disabled)


def record_outcome(
    batch: SendBatch,
    token: uuid.UUID,
    out: SendOutcome,
    conf: EngineConf,
    started: dt.datetime,
    now: dt.datetime,
) -> str:
    """Write what LINE said (only while this worker still holds the lease). Returns the
    batch's new status."""
    # `batch.uncertain_since` is as it was before this attempt: an answered attempt leaves
    # it so, an unanswered one may have been accepted and starts the window.
    uncertain = batch.uncertain_since if out.answered else (batch.uncertain_since or started)
    changes: dict[str, Any] = {
        "lease_token": None,
        "lease_until": None,
        "http_status": out.http_status,
        "request_id": out.request_id or out.accepted_request_id,
        "last_error": out.error,
        "uncertain_since": uncertain,
        "next_attempt_at": None,
    }
    status = SendStatus.PENDING
    if out.kind == "sent":
        status = SendStatus.SENT
        changes["sent_at"] = now
    elif out.kind == "failed" or (
        out.kind == "retry" and batch.attempts >= conf.max_attempts and uncertain is None
    ):
        status = SendStatus.FAILED
    elif out.kind in ("quota", "auth"):
        changes["next_attempt_at"] = now + QUOTA_HOLD
    else:
        delay = backoff_delay(batch.attempts, base=0.5, cap=60.0)
        changes["next_attempt_at"] = now + dt.timedelta(seconds=delay)
    changes["status"] = status
    with transaction.atomic():
        mine = SendBatch.objects.filter(pk=batch.pk, lease_token=token).update(**changes)
        if mine and status == SendStatus.SENT:
            StepSend.objects.filter(batch=batch).update(status=SendStatus.SENT, sent_at=now)
        elif mine and status == SendStatus.FAILED:
            StepSend.objects.filter(batch=batch).update(
                status=SendStatus.FAILED, reason=out.error[:200] or "failed"
            )
    return status


def record_sent(
    answered: list[tuple[SendBatch, SendOutcome]],
    token: uuid.UUID,
    started: dt.datetime,
    now: dt.datetime,
) -> set[int]:
    """`record_outcome` for many batches LINE accepted, in one transaction and a few
    statements instead of two per batch (a personalised step is a push per recipient: 10,000
    due at once are 10,000 answers). Only batches this worker still leases are written; returns
    their IDs."""
    if not answered:
        return set()
    by_id = {batch.pk: (batch, out) for batch, out in answered}
    with transaction.atomic():
        mine = set(
            SendBatch.objects.select_for_update()
            .filter(pk__in=list(by_id), lease_token=token)
            .values_list("pk", flat=True)
        )
        if not mine:
            return mine
        rows = []
        for pk in sorted(mine):
            batch, out = by_id[pk]
            batch.http_status = out.http_status
            batch.request_id = out.request_id or out.accepted_request_id
            batch.last_error = out.error
            if not out.answered:
                batch.uncertain_since = batch.uncertain_since or started
            rows.append(batch)
        SendBatch.objects.bulk_update(
            rows, ["http_status", "request_id", "last_error", "uncertain_since"], batch_size=500
        )
        SendBatch.objects.filter(pk__in=mine).update(
            status=SendStatus.SENT,
            sent_at=now,
            lease_token=None,
            lease_until=None,
            next_attempt_at=None,
        )
        StepSend.objects.filter(batch_id__in=mine).update(status=SendStatus.SENT, sent_at=now)
    return mine


def hold(workspace_id: int, reason: str) -> None:
    Scenario.objects.filter(workspace_id=workspace_id, status="active").update(status_reason=reason)


def release(batches: list[SendBatch], token: uuid.UUID) -> None:
    SendBatch.objects.filter(id__in=[b.pk for b in batches], lease_token=token).update(
        status=SendStatus.PENDING, lease_token=None, lease_until=None
    )
