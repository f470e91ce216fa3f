"""Chunked planning of a personalised delivery, while earlier chunks are being sent.

The freeze (`planning.freeze_recipients`) snapshots every recipient in one INSERT … SELECT, so
who receives the campaign is fixed when the send starts. Rendering is the slow part, so it is
done here a chunk at a time: the recipients whose ids lie in the next `plan_chunk` ids after
`Delivery.plan_cursor` are rendered, their payloads and batches created and their batch numbers
written, and the cursor moved, all in one transaction. A batch therefore exists (with its retry
key) before it can be claimed, and a crash mid-chunk rolls the whole chunk back: the next planner
starts again from the cursor, and nobody is planned twice or left out.

The first chunk is planned in the freeze's own transaction, so its batches are sendable at once;
the dispatcher plans further chunks between its claims (`dispatch._send_loop`) whenever few
planned batches are left, so rendering overlaps with LINE's pace.

Two planners (two workers) never plan one chunk: each moves the cursor by a conditional UPDATE
before anything else (`plan_cursor = <what it read>`), and the loser rolls back. A cancelled or
paused delivery is not planned further.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection, models, transaction
from django.db.models import F, Max, Model
from django.utils import timezone

from otodoke.campaigns.models import (
    Batch,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
    Endpoint,
    Payload,
    RecipientStatus,
)
from otodoke.contacts.tagging import tag_names_by_contact
from otodoke.messaging.links import click_url, find_links, rewrite_links
from otodoke.messaging.personalize import (
    BusinessData,
    CompiledMessages,
    TemplateProblem,
    compile_messages,
    recipient_context,
    uses_variable,
)
from otodoke.messaging.validation import limit_problems

# A chunk is planned only while the delivery may still send.
PLANNABLE = (DeliveryStatus.READY, DeliveryStatus.SENDING)
IN_CHUNK = 900  # under SQLite's default limit of bound parameters
# Payload ids kept per planner, so a send whose renders repeat (few distinct texts) does not
# look its payloads up again for every chunk; a send where every render differs stops caching.
PAYLOAD_CACHE = 10_000


def digest(messages: list[dict[str, Any]]) -> str:
    """The identity of a render: the SHA-256 of its canonical JSON (sorted keys, compact)."""
    return hashlib.sha256(orjson.dumps(messages, option=orjson.OPT_SORT_KEYS)).hexdigest()


def create_links(delivery: Delivery) -> None:
    """Tracked links for the campaign's URLs, created once per delivery (at the freeze)."""
    campaign = delivery.campaign
    if not campaign.track_links:
        return
    from otodoke.tracking.services import create_tracked_link

    delivery.plan_links = {
        url: create_tracked_link(campaign.workspace, url, campaign_id=campaign.pk).pk
        for url in find_links(campaign.messages)
    }
    Delivery.objects.filter(pk=delivery.pk).update(plan_links=delivery.plan_links)


@dataclass
class Rendered:
    """One chunk's outcome: recipient ids per render digest, failures per reason."""

    groups: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0


class ChunkPlanner:
    """Plans one delivery chunk by chunk. Everything that is the same for every recipient (the
    compiled templates, tracked links, time zone, today's date) is prepared once here."""

    def __init__(self, delivery: Delivery, *, batch_size: int, chunk_size: int) -> None:
        campaign = delivery.campaign
        self.delivery_id = delivery.pk
        self.batch_size = batch_size
        self.chunk_size = max(1, chunk_size)
        self.compiled: CompiledMessages = compile_messages(campaign.messages)
        self.links: dict[str, int] = {str(k): int(v) for k, v in delivery.plan_links.items()}
        self.tz = campaign.workspace.tzinfo
        self.today = timezone.now().astimezone(self.tz).date()
        self.needs_tags = uses_variable(campaign.messages, "tags")
        self.valid: dict[str, str | None] = {}  # digest → first limit problem (None: fine)
        self.payloads: dict[str, int] = {}
        self._found: dict[str, int] = {}
        self.done = delivery.planned_at is not None
        self.per_recipient = 0.0  # batches per recipient in the last chunk planned

    # -- rendering -------------------------------------------------------------------------

    def _rows(self, low: int, high: int) -> list[tuple[Any, ...]]:
        return list(
            DeliveryRecipient.objects.filter(
                delivery_id=self.delivery_id,
                id__gt=low,
                id__lte=high,
                status=RecipientStatus.PENDING,
                batch_no__isnull=True,
            )
            .order_by("id")
            .values_list(
                "id",
                "contact_id",
                "contact__name",
                "contact__attributes",
                "contact__external_id",
                "contact__last_visit_at",
                "contact__visit_count",
                "contact__total_spent",
            )
        )

    def render(self, rows: list[tuple[Any, ...]]) -> Rendered:
        """Render every row; identical renders are grouped (they go out together)."""
        out = Rendered(count=len(rows))
        tags = tag_names_by_contact([r[1] for r in rows]) if self.needs_tags else {}
        compiled, links, tz, today = self.compiled, self.links, self.tz, self.today
        for rid, contact_id, name, attributes, number, last_visit, visits, spent in rows:
            business = BusinessData(
                customer_number=number or "",
                last_visit_at=last_visit,
                visit_count=visits,
                total_spent=spent,
                tags=tuple(tags.get(contact_id, ())),
            )
            context = recipient_context(name or "", attributes, business, tz=tz, today=today)
            try:
                messages = compiled.render(context)
            except TemplateProblem as exc:
                out.failed[str(exc)[:200]].append(rid)
                continue
            if links:
                messages = rewrite_links(
                    messages, {url: click_url(link, contact_id) for url, link in links.items()}
                )
            key = digest(messages)
            if key not in self.valid:
                problems = limit_problems(messages)
                self.valid[key] = str(problems[0])[:200] if problems else None
                if len(self.valid) > PAYLOAD_CACHE:
                    self.valid.clear()
                    self.valid[key] = str(problems[0])[:200] if problems else None
            problem = self.valid[key]
            if problem is not None:
                out.failed[problem].append(rid)
                continue
            out.groups[key].append(rid)
            out.messages.setdefault(key, messages)
        return out

    # -- writing ---------------------------------------------------------------------------

    def _payload_ids(self, rendered: Rendered) -> dict[str, int]:
        """Each digest's payload: an earlier chunk's when it rendered the same messages. The
        ids found are remembered only once the chunk commits (`step`)."""
        wanted = [k for k in rendered.groups if k not in self.payloads]
        found = self._lookup(wanted)
        missing = [k for k in wanted if k not in found]
        if missing:
            insert_rows(
                Payload,
                ["delivery", "digest", "messages"],
                [(self.delivery_id, k, rendered.messages[k]) for k in missing],
            )
            found.update(self._lookup(missing))
        self._found = found
        return {k: self.payloads.get(k) or found[k] for k in rendered.groups}

    def _lookup(self, digests: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(digests), IN_CHUNK):
            found.update(
                Payload.objects.filter(
                    delivery_id=self.delivery_id, digest__in=digests[start : start + IN_CHUNK]
                ).values_list("digest", "id")
            )
        return found

    def _write(self, rendered: Rendered) -> tuple[set[str], int]:
        """Payloads, batches and batch numbers of one chunk; failures recorded. Returns the
        endpoints used and how many recipients failed to render. Rows are written by prepared
        statements, not model instances: Django's per-object costs took most of a chunk."""
        from otodoke.campaigns import planning

        failed = 0
        for reason, ids in rendered.failed.items():
            for start in range(0, len(ids), IN_CHUNK):
                failed += DeliveryRecipient.objects.filter(
                    id__in=ids[start : start + IN_CHUNK]
                ).update(status=RecipientStatus.FAILED, reason=reason, batch_no=None)
        if not rendered.groups:
            return set(), failed
        payload_ids = self._payload_ids(rendered)
        last = Batch.objects.filter(delivery_id=self.delivery_id).aggregate(n=Max("number"))["n"]
        number = -1 if last is None else int(last)
        batches: list[tuple[Any, ...]] = []
        numbers: list[tuple[int, int]] = []
        endpoints: set[str] = set()
        for key, ids in rendered.groups.items():
            endpoint = Endpoint.PUSH.value if len(ids) == 1 else Endpoint.MULTICAST.value
            endpoints.add(endpoint)
            for start in range(0, len(ids), self.batch_size):
                part = ids[start : start + self.batch_size]
                number += 1
                batches.append(
                    (self.delivery_id, number, endpoint, payload_ids[key], len(part), uuid.uuid4())
                )
                numbers += [(rid, number) for rid in part]
        insert_rows(Batch, BATCH_COLUMNS, batches)
        planning.write_batch_number_pairs(numbers)
        return endpoints, failed

    def next_size(self, in_flight: bool, window: int) -> int:
        """How many recipient ids the dispatcher's next step should take. A send whose renders
        all differ makes a batch per recipient, and a whole chunk rendered at once would leave
        the requests in flight to run dry: while some are, it plans about a claim window at a
        time. Sends whose renders repeat keep whole chunks (their multicast batches fill up)."""
        if in_flight and self.per_recipient > 0.5:
            return min(self.chunk_size, max(window, 50))
        return self.chunk_size

    def step(self, size: int | None = None) -> int | None:
        """Plan the next chunk (`size` recipient ids, the chunk size by default). Returns how
        many batches it created (0 when another planner had just taken this chunk), or None
        when there is nothing (more) to plan."""
        if self.done:
            return None
        state = (
            Delivery.objects.filter(
                pk=self.delivery_id, planned_at__isnull=True, status__in=PLANNABLE
            )
            .values_list("plan_cursor", "plan_end")
            .first()
        )
        if state is None:
            self.done = True
            return None
        cursor, end = state
        high = min(cursor + (size or self.chunk_size), end)
        with transaction.atomic():
            # Take the chunk first: on PostgreSQL this locks the delivery row, so a second
            # planner (or a cancel) waits for this chunk's commit and then finds the cursor moved.
            took = Delivery.objects.filter(
                pk=self.delivery_id,
                plan_cursor=cursor,
                planned_at__isnull=True,
                status__in=PLANNABLE,
            ).update(plan_cursor=high)
            if not took:
                return 0
            self._found = {}
            rendered = self.render(self._rows(cursor, high))
            endpoints, failed = self._write(rendered)
            method = Delivery.objects.filter(pk=self.delivery_id).values_list("method", flat=True)
            kinds = {m for m in (method.first() or "").split("+") if m} | endpoints
            finished = high >= end
            Delivery.objects.filter(pk=self.delivery_id).update(
                planned=F("planned") + rendered.count,
                failed=F("failed") + failed,
                method="+".join(sorted(kinds)),
                planned_at=timezone.now() if finished else None,
            )
        self.done = finished
        if len(self.payloads) + len(self._found) <= PAYLOAD_CACHE:
            self.payloads.update(self._found)
        self._found = {}
        made = sum(-(-len(ids) // self.batch_size) for ids in rendered.groups.values())
        if rendered.count:
            self.per_recipient = made / rendered.count
        return made

    def run(self) -> None:
        """Plan every chunk left (tests and the CLI; the dispatcher interleaves `step`)."""
        while self.step() is not None:
            pass


# A new batch's columns; the others take their model defaults (`insert_rows`).
BATCH_COLUMNS = ["delivery", "number", "endpoint", "payload", "recipient_count", "retry_key"]


def insert_rows(model: type[Model], names: list[str], rows: list[tuple[Any, ...]]) -> None:
    """INSERT `rows` (values of the fields `names`, in order) by one prepared statement run for
    every row; every other concrete field but the primary key gets its model default. Values
    are prepared by the fields themselves (UUIDs, JSON) as `bulk_create` would."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = {getattr(model._meta.get_field(n), "attname", n): i for i, n in enumerate(names)}
    # Each column: (index in the row, how to prepare it) or (None, its prepared default).
    plain = (models.IntegerField, models.CharField, models.ForeignKey)
    columns_of: list[tuple[int | None, Any]] = []
    for f in fields:
        at = given.get(f.attname)
        if at is None:
            columns_of.append((None, f.get_db_prep_save(f.get_default(), connection)))
        else:
            columns_of.append((at, None if isinstance(f, plain) else f))
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
    prepared = [
        [
            prep
            if at is None
            else (row[at] if prep is None else prep.get_db_prep_save(row[at], connection))
            for at, prep in columns_of
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), 5000):
            cursor.executemany(sql, prepared[start : start + 5000])


def plan_bounds(delivery: Delivery) -> tuple[int, int]:
    """(the id before the delivery's first recipient, its last recipient's id)."""
    table = connection.ops.quote_name(DeliveryRecipient._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(id), MAX(id) FROM {table} WHERE delivery_id = %s",  # noqa: S608
            [delivery.pk],
        )
        low, high = cursor.fetchone() or (None, None)
    if low is None or high is None:
        return 0, 0
    return int(low) - 1, int(high)
