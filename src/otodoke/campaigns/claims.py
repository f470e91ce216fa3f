"""Batch claims and result recording: the database side of the dispatcher.

A batch is claimed by a conditional UPDATE that sets a lease (token + expiry); only rows still
claimable at that moment are taken, so two workers never hold one batch. On PostgreSQL the
candidates are picked with `SELECT … FOR UPDATE SKIP LOCKED` so workers do not queue behind
each other; on SQLite the IMMEDIATE transaction serialises claimers. A worker that dies leaves
leases that simply expire; the next claimer resends with the same retry key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Exists, F, Max, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from otodoke.campaigns.models import (
    Batch,
    BatchStatus,
    Delivery,
    DeliveryRecipient,
    Endpoint,
    ExclusionReason,
    RecipientStatus,
)
from otodoke.contacts.models import Contact, LineStatus


@dataclass
class Job:
    batch_id: int
    number: int
    endpoint: str
    retry_key: str
    recipient_count: int
    lease_token: uuid.UUID
    payload_id: int
    uncertain_since: datetime | None
    attempts: int
    body: dict[str, Any] | None = None
    attempt_started: datetime | None = None


def _claimable(now: datetime) -> Q:
    return Q(status=BatchStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    ) | Q(status=BatchStatus.IN_FLIGHT, lease_until__lt=now)


def claim(
    delivery_id: int, *, limit: int, lease_seconds: float, window_seconds: float
) -> list[Job]:
    """Lease up to `limit` batches. A batch that may have been accepted longer ago than the
    retry-key window is never claimed (see `expire_stale`)."""
    now = timezone.now()
    token = uuid.uuid4()
    fresh = Q(uncertain_since__isnull=True) | Q(
        uncertain_since__gte=now - timedelta(seconds=window_seconds)
    )
    with transaction.atomic():
        candidates = Batch.objects.filter(delivery_id=delivery_id).filter(_claimable(now), fresh)
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.order_by("number").values_list("id", flat=True)[:limit])
        if not ids:
            return []
        Batch.objects.filter(id__in=ids).filter(_claimable(now), fresh).update(
            status=BatchStatus.IN_FLIGHT,
            lease_token=token,
            lease_until=now + timedelta(seconds=lease_seconds),
        )
    # By primary key: lease_token has no index, and a scan of every batch of every delivery
    # per claim slowed a 100,000-push send on PostgreSQL to two thirds of LINE's rate.
    rows = Batch.objects.filter(id__in=ids, lease_token=token).order_by("number")
    return [
        Job(
            batch_id=b.pk,
            number=b.number,
            endpoint=b.endpoint,
            retry_key=str(b.retry_key),
            recipient_count=b.recipient_count,
            lease_token=token,
            payload_id=b.payload_id,
            uncertain_since=b.uncertain_since,
            attempts=b.attempts,
        )
        for b in rows
    ]


def recipients_of(delivery_id: int, numbers: list[int]) -> dict[int, list[str]]:
    """The frozen LINE user IDs of each batch, in a stable order (retries send the same `to`)."""
    out: dict[int, list[str]] = {n: [] for n in numbers}
    rows = (
        DeliveryRecipient.objects.filter(delivery_id=delivery_id, batch_no__in=numbers)
        .exclude(status__in=[RecipientStatus.EXCLUDED, RecipientStatus.FAILED])
        .order_by("id")
        .values_list("batch_no", "line_user_id")
    )
    for number, user_id in rows:
        if number is not None:
            out[number].append(user_id)
    return out


def _still_reachable() -> tuple[Exists, Case]:
    """(the recipient's contact may still be sent to, why not) as expressions on a recipient."""
    same = Contact.objects.filter(pk=OuterRef("contact_id"), line_user_id=OuterRef("line_user_id"))
    reason = Case(
        When(~Exists(same), then=Value(ExclusionReason.UNLINKED.value)),
        When(
            Exists(same.exclude(line_status=LineStatus.FOLLOWING)),
            then=Value(ExclusionReason.LEFT_BEFORE_BATCH.value),
        ),
        default=Value(ExclusionReason.CONSENT_WITHDRAWN.value),
    )
    return Exists(same.filter(line_status=LineStatus.FOLLOWING, marketing_consent=True)), reason


def replan_broadcast(delivery_id: int, job: Job, batch_size: int) -> bool:
    """A broadcast reaches every follower, so it may go out only while nobody frozen into it
    has withdrawn consent. When someone has (and no attempt may have reached LINE), the
    broadcast is cancelled and its reachable recipients get multicast batches of the same
    message, claimed like any other. Returns whether it was replanned."""
    from otodoke.campaigns.planning import write_batch_numbers

    if job.endpoint != Endpoint.BROADCAST or job.uncertain_since is not None:
        return False
    reachable, reason = _still_reachable()
    pending = DeliveryRecipient.objects.filter(
        delivery_id=delivery_id, batch_no=job.number, status=RecipientStatus.PENDING
    )
    withdrawn = pending.exclude(reachable).filter(
        Exists(Contact.objects.filter(pk=OuterRef("contact_id"), marketing_consent=False))
    )
    if not withdrawn.exists():
        return False  # blocked friends are not reached by a broadcast anyway
    with transaction.atomic():
        left_out = pending.exclude(reachable).update(status=RecipientStatus.EXCLUDED, reason=reason)
        ids = list(pending.order_by("id").values_list("id", flat=True))
        last = Batch.objects.filter(delivery_id=delivery_id).aggregate(n=Max("number"))["n"]
        first = (last or 0) + 1
        sizes = [len(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]
        Batch.objects.bulk_create(
            [
                Batch(
                    delivery_id=delivery_id,
                    number=first + k,
                    endpoint=Endpoint.PUSH if len(ids) == 1 else Endpoint.MULTICAST,
                    payload_id=job.payload_id,
                    recipient_count=size,
                )
                for k, size in enumerate(sizes)
            ]
        )
        write_batch_numbers(
            [
                DeliveryRecipient(id=rid, batch_no=first + i // batch_size)
                for i, rid in enumerate(ids)
            ]
        )
        Batch.objects.filter(id=job.batch_id, lease_token=job.lease_token).update(
            status=BatchStatus.CANCELLED,
            recipient_count=0,
            lease_token=None,
            lease_until=None,
            last_error="replanned as multicast: consent withdrawn after the freeze",
        )
        Delivery.objects.filter(pk=delivery_id).update(
            method=Endpoint.PUSH if len(ids) == 1 else Endpoint.MULTICAST,
            excluded=F("excluded") + left_out,
            eligible=F("eligible") - left_out,
        )
    return True


def recheck(delivery_id: int, jobs: list[Job]) -> int:
    """Leave out the recipients of `jobs` who, since the freeze, blocked the account, left,
    withdrew consent, were unlinked or deleted: one UPDATE for the whole group, by the database.

    Only batches that no attempt may have reached LINE with (`uncertain_since` unset): a batch
    LINE may already have accepted is resent with the very same `to` under its retry key, so it
    keeps its recipients (exactly once comes first). A broadcast has no list to shorten.
    Returns how many recipients were left out."""
    numbers = [
        j.number for j in jobs if j.uncertain_since is None and j.endpoint != Endpoint.BROADCAST
    ]
    if not numbers:
        return 0
    reachable, reason = _still_reachable()
    with transaction.atomic():
        left_out = (
            DeliveryRecipient.objects.filter(
                delivery_id=delivery_id, batch_no__in=numbers, status=RecipientStatus.PENDING
            )
            .exclude(reachable)
            .update(status=RecipientStatus.EXCLUDED, reason=reason)
        )
        if left_out:
            Delivery.objects.filter(pk=delivery_id).update(
                excluded=F("excluded") + left_out, eligible=F("eligible") - left_out
            )
    return left_out


def shrink(jobs: list[Job], to: dict[int, list[str]]) -> list[Job]:
    """After `recheck`: store each batch's new size (the sent count is taken from it) and cancel
    the batches nobody is left in. Returns the jobs that still go out."""
    keep: list[Job] = []
    for job in jobs:
        size = len(to.get(job.number, [])) if job.endpoint != Endpoint.BROADCAST else None
        if size is None or size == job.recipient_count:
            keep.append(job)
            continue
        mine = Batch.objects.filter(id=job.batch_id, lease_token=job.lease_token)
        if size == 0:
            mine.update(
                status=BatchStatus.CANCELLED,
                recipient_count=0,
                lease_token=None,
                lease_until=None,
                last_error="nobody left to send to",
            )
            continue
        mine.update(recipient_count=size)
        job.recipient_count = size
        keep.append(job)
    return keep


def mark_attempting(jobs: list[Job]) -> None:
    """Written before the requests leave: an attempt we never hear back from is uncertain."""
    now = timezone.now()
    Batch.objects.filter(id__in=[j.batch_id for j in jobs]).update(
        attempts=F("attempts") + 1,
        first_attempt_at=Coalesce("first_attempt_at", now),
        uncertain_since=Coalesce("uncertain_since", now),
    )
    for job in jobs:
        job.attempt_started = now
        job.attempts += 1


def release(jobs: list[Job], *, cancelled_delivery: int | None = None) -> None:
    """Give back claimed batches that were never attempted. `cancelled_delivery`: their
    delivery was cancelled meanwhile, so they (and their recipients) are cancelled, as the
    cancel did to every batch nobody held."""
    for job in jobs:
        Batch.objects.filter(id=job.batch_id, lease_token=job.lease_token).update(
            status=BatchStatus.PENDING if cancelled_delivery is None else BatchStatus.CANCELLED,
            lease_token=None,
            lease_until=None,
        )
    if cancelled_delivery is not None and jobs:
        DeliveryRecipient.objects.filter(
            delivery_id=cancelled_delivery,
            batch_no__in=[j.number for j in jobs],
            status=RecipientStatus.PENDING,
        ).update(status=RecipientStatus.CANCELLED)


def settle_sent(delivery_id: int) -> int:
    """Mark the recipients of sent batches sent, with their batch's time.

    The dispatcher records a success on the batch row only (one row per 500 recipients) and
    leaves the recipient rows to this set-based pass, run when a dispatcher stops and before a
    delivery is finished: updating every recipient row while sending held up the send loop
    (most of its time on PostgreSQL). One statement walks the pending recipients once; one
    UPDATE per group of batches let SQLite scan every pending row for each group. Idempotent,
    so any worker may run it any time.
    """
    if connection.vendor == "postgresql":
        # A join, so the plan does not hang on fresh statistics: right after a million
        # recipients are frozen the planner still thinks the tables hold one row each and picked
        # a per-row scan of every batch for the correlated form below (128 s for 200,000).
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {qn(DeliveryRecipient._meta.db_table)} AS r"  # noqa: S608 - our tables
                " SET status = %s, sent_at = b.sent_at"
                f" FROM {qn(Batch._meta.db_table)} AS b"
                " WHERE r.delivery_id = %s AND r.status = %s"
                " AND b.delivery_id = %s AND b.number = r.batch_no AND b.status = %s",
                [
                    RecipientStatus.SENT.value,
                    delivery_id,
                    RecipientStatus.PENDING.value,
                    delivery_id,
                    BatchStatus.SENT.value,
                ],
            )
            return int(cursor.rowcount)
    batches = Batch.objects.filter(delivery_id=delivery_id)
    return DeliveryRecipient.objects.filter(
        delivery_id=delivery_id,
        status=RecipientStatus.PENDING,
        batch_no__in=batches.filter(status=BatchStatus.SENT).values("number"),
    ).update(
        status=RecipientStatus.SENT,
        sent_at=Subquery(batches.filter(number=OuterRef("batch_no")).values("sent_at")[:1]),
    )


def expire_stale(delivery_id: int, window_seconds: float) -> int:
    """Batches that may have been accepted more than the retry-key window ago become unknown:
    resending them could duplicate, so they never go out again automatically."""
    cutoff = timezone.now() - timedelta(seconds=window_seconds)
    with transaction.atomic():
        stale = Batch.objects.filter(delivery_id=delivery_id, uncertain_since__lt=cutoff).filter(
            _claimable(timezone.now())
        )
        numbers = list(stale.values_list("number", flat=True))
        if not numbers:
            return 0
        Batch.objects.filter(delivery_id=delivery_id, number__in=numbers).update(
            status=BatchStatus.UNKNOWN,
            lease_token=None,
            last_error="retry-key window passed without a known outcome",
        )
        changed = DeliveryRecipient.objects.filter(
            delivery_id=delivery_id, batch_no__in=numbers, status=RecipientStatus.PENDING
        ).update(status=RecipientStatus.UNKNOWN, reason="retry window passed")
        Delivery.objects.filter(pk=delivery_id).update(unknown=F("unknown") + changed)
    return changed
