"""Keeping each friend's rich menu as the rules say: desired vs applied, then LINE's bulk calls.

1. **Watches** (`segments.watches`, owner kind ``richmenu_rule``): each active rule's segment
   watch is refreshed; entered and left come back as contact IDs. A full refresh runs at most
   every `OTODOKE_WATCH_REFRESH_SECONDS` (the sync chain's tick); a tag or event refreshes
   just that contact at once (`hooks`).
2. **Desired**: for the contacts concerned, the first rule by priority whose watch holds them
   names the LINE menu they should have (none: unlinked, so LINE shows the default).
   `RichMenuAssignment` rows keep desired and applied side by side.
3. **Plan**: the assignments whose desired differs from applied become `RelinkChunk` rows of at
   most 500 users each (LINE's bulk limit), one target menu per chunk, written in one
   transaction *before* any call, and only when no chunk is pending (so a plan never overlaps
   an unfinished one).
4. **Execute** (`relink`): pending chunks are claimed in batches with a lease, paced by the
   per-channel token bucket (`campaigns.ratelimit`, shared by all workers), sent as bulk links
   or unlinks by a bounded pool of concurrent calls, and marked done together with their
   assignments' applied menu in one transaction per batch.

Re-running with nothing changed makes no call (desired = applied everywhere). A crash between
calls leaves the later chunks pending: the next run makes exactly those calls. A crash after
LINE accepted a chunk but before it was marked done re-sends that one chunk, which LINE
applies the same way again (a link replaces the user's link).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from otodoke.contacts.models import Contact, LineStatus
from otodoke.line.client import LineClient
from otodoke.richmenus import relink
from otodoke.richmenus.models import (
    ChunkStatus,
    RelinkChunk,
    RichMenuAssignment,
    RichMenuRule,
)
from otodoke.richmenus.services import WATCH_OWNER, ClientFactory, _watched
from otodoke.segments.models import SegmentWatch, SegmentWatchMember
from otodoke.segments.schema import DefinitionError
from otodoke.segments.watches import ensure_watch, refresh, refresh_contacts
from otodoke.workspaces.models import Workspace

log = logging.getLogger(__name__)

BULK_SIZE = 500


def _in_ids(ids: list[int]) -> RawSQL:
    """`pk__in=_in_ids(ids)`: any number of IDs as one array parameter (PostgreSQL
    ``unnest``, SQLite ``json_each``), so an UPDATE of 100,000 rows is one statement with no
    limit on bound variables."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))


def watch_interval() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "OTODOKE_WATCH_REFRESH_SECONDS", 60)))


@dataclass
class SyncResult:
    entered: int = 0
    left: int = 0
    changed: int = 0
    planned_chunks: int = 0
    calls: int = 0
    linked: int = 0
    unlinked: int = 0
    failed_chunks: int = 0
    full_refreshes: int = 0
    errors: list[str] = field(default_factory=list)
    rules_gone: bool = False  # a rule's watch was dropped: recompute everyone

    def as_dict(self) -> dict[str, Any]:
        return {
            "entered": self.entered,
            "left": self.left,
            "changed": self.changed,
            "planned_chunks": self.planned_chunks,
            "calls": self.calls,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "failed_chunks": self.failed_chunks,
            "full_refreshes": self.full_refreshes,
            "errors": self.errors,
        }


def _client(workspace: Workspace) -> LineClient:
    return LineClient.for_workspace(workspace)


def _rules(workspace: Workspace) -> list[RichMenuRule]:
    return list(
        RichMenuRule.objects.filter(workspace=workspace, active=True)
        .exclude(menu__line_rich_menu_id="")
        .select_related("menu", "segment")
        .order_by("priority", "id")
    )


def refresh_watches(
    workspace: Workspace,
    now: dt.datetime,
    *,
    contact_ids: Iterable[int] | None = None,
    force: bool = False,
) -> tuple[set[int], SyncResult]:
    """Refresh the rules' watches (in full when due or forced, else only `contact_ids`);
    the contacts who entered or left any of them."""
    result = SyncResult()
    touched: set[int] = set()
    ids = None if contact_ids is None else sorted({int(i) for i in contact_ids})
    rules = list(RichMenuRule.objects.filter(workspace=workspace).select_related("segment"))
    # A rule gone with its segment leaves its watch behind: forget it.
    dropped, _kinds = (
        SegmentWatch.objects.filter(workspace=workspace, owner_kind=WATCH_OWNER)
        .exclude(owner_id__in=[r.pk for r in rules])
        .delete()
    )
    result.rules_gone = dropped > 0
    for rule in rules:
        try:
            watch = ensure_watch(
                workspace, WATCH_OWNER, rule.pk, _watched(rule.segment), baseline=False
            )
            if ids is not None:
                if watch.last_evaluated_at is None:
                    continue  # the first, full evaluation is the sync's, not a webhook's
                diff = refresh_contacts(watch, ids, now)
            elif (
                force
                or watch.last_evaluated_at is None
                or now - watch.last_evaluated_at >= watch_interval()
            ):
                diff = refresh(watch, now)
                result.full_refreshes += 1
            else:
                continue
        except DefinitionError as exc:
            result.errors.append(f"rule {rule.pk}: {exc}")
            continue
        result.entered += len(diff.entered)
        result.left += len(diff.left)
        touched.update(diff.entered)
        touched.update(diff.left)
    return touched, result


def recompute(workspace: Workspace, contact_ids: Iterable[int] | None = None) -> int:
    """Write the desired menu of the given contacts (None: everyone) from the rules' watch
    members; returns how many assignments changed."""
    ids = None if contact_ids is None else sorted(set(contact_ids))
    if ids is not None and not ids:
        return 0
    desired: dict[int, tuple[int, str]] = {}
    watches = dict(
        SegmentWatch.objects.filter(workspace=workspace, owner_kind=WATCH_OWNER).values_list(
            "owner_id", "pk"
        )
    )
    for rule in _rules(workspace):
        watch_id = watches.get(rule.pk)
        if watch_id is None:
            continue
        members = SegmentWatchMember.objects.filter(
            watch_id=watch_id, contact__line_user_id__isnull=False
        )
        if ids is not None:
            members = members.filter(contact_id__in=ids)
        for contact_id in members.values_list("contact_id", flat=True).iterator(chunk_size=5000):
            if contact_id not in desired:
                desired[contact_id] = (rule.pk, rule.menu.line_rich_menu_id)
    existing = RichMenuAssignment.objects.filter(workspace=workspace)
    if ids is not None:
        existing = existing.filter(contact_id__in=ids)
    current = {
        cid: (rule_id, line_id)
        for cid, rule_id, line_id in existing.values_list(
            "contact_id", "rule_id", "desired_line_id"
        ).iterator(chunk_size=5000)
    }
    changes: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for cid, old in current.items():
        new = desired.get(cid, (None, ""))
        if new != old:
            changes[new].append(cid)
    fresh = [
        RichMenuAssignment(
            workspace=workspace, contact_id=cid, rule_id=rule_id, desired_line_id=lid
        )
        for cid, (rule_id, lid) in desired.items()
        if cid not in current
    ]
    with transaction.atomic():
        RichMenuAssignment.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
        for (rule_id, line_id), cids in changes.items():
            RichMenuAssignment.objects.filter(contact_id__in=_in_ids(cids)).update(
                rule_id=rule_id, desired_line_id=line_id
            )
    return len(fresh) + sum(len(c) for c in changes.values())


def forget_applied(contact_ids: Iterable[int]) -> None:
    """LINE no longer has a link for these users (they blocked and came back): relink."""
    RichMenuAssignment.objects.filter(contact_id__in=list(contact_ids)).update(applied_line_id="")


def plan(workspace: Workspace) -> int:
    """Record the chunks that bring applied to desired; 0 while earlier chunks are pending."""
    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        if RelinkChunk.objects.filter(workspace=workspace, status=ChunkStatus.PENDING).exists():
            return 0
        rows = (
            RichMenuAssignment.objects.filter(workspace=workspace)
            .exclude(desired_line_id=F("applied_line_id"))
            .filter(
                contact__line_user_id__isnull=False,
                contact__line_status=LineStatus.FOLLOWING,
            )
            .order_by("desired_line_id", "contact_id")
            .values_list("desired_line_id", "contact_id", "contact__line_user_id")
        )
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for line_id, contact_id, user_id in rows.iterator(chunk_size=5000):
            groups[line_id].append((contact_id, user_id or ""))
        chunks = []
        for line_id, members in groups.items():
            for start in range(0, len(members), BULK_SIZE):
                part = members[start : start + BULK_SIZE]
                chunks.append(
                    RelinkChunk(
                        workspace=workspace,
                        line_menu_id=line_id,
                        contact_ids=[c for c, _u in part],
                        user_ids=[u for _c, u in part],
                    )
                )
        RelinkChunk.objects.bulk_create(chunks, batch_size=200)
    return len(chunks)


def execute(
    workspace: Workspace, *, client_for: ClientFactory = _client, now: dt.datetime | None = None
) -> SyncResult:
    """Make every pending chunk's bulk call, oldest first, several in flight (`relink`)."""
    result = SyncResult()
    if not RelinkChunk.objects.filter(workspace=workspace, status=ChunkStatus.PENDING).exists():
        return result
    pacer = relink.Pacer(workspace)
    tally = relink.Tally(errors=result.errors)
    with (
        client_for(workspace) as client,
        ThreadPoolExecutor(relink.in_flight(), thread_name_prefix="relink") as pool,
    ):
        while claimed := relink.claim(workspace, now or timezone.now()):
            if not relink.run_round(claimed, client, pacer, pool, tally):
                break
    result.calls, result.linked, result.unlinked = tally.calls, tally.linked, tally.unlinked
    result.failed_chunks = tally.failed_chunks
    return result


def sync(
    workspace: Workspace,
    *,
    now: dt.datetime | None = None,
    full: bool = False,
    contact_ids: Iterable[int] | None = None,
    client_for: ClientFactory = _client,
) -> SyncResult:
    """One pass: finish pending chunks, refresh the watches, recompute, plan and execute."""
    instant = now or timezone.now()
    first = execute(workspace, client_for=client_for, now=now)
    touched, result = refresh_watches(workspace, instant, contact_ids=contact_ids, force=full)
    # After a full evaluation everyone's menu is recomputed, which also catches what no
    # watch reports (a rule deleted with its segment, a priority or menu changed).
    everyone = full or result.full_refreshes > 0 or result.rules_gone
    result.changed = recompute(workspace, None if everyone else touched)
    result.planned_chunks = plan(workspace)
    second = execute(workspace, client_for=client_for, now=now)
    for done in (first, second):
        result.calls += done.calls
        result.linked += done.linked
        result.unlinked += done.unlinked
        result.failed_chunks += done.failed_chunks
        result.errors += done.errors
    return result


def workspaces_with_rules() -> list[Workspace]:
    ids = set(RichMenuRule.objects.values_list("workspace_id", flat=True))
    ids |= set(
        RelinkChunk.objects.filter(status=ChunkStatus.PENDING).values_list(
            "workspace_id", flat=True
        )
    )
    ids |= set(
        RichMenuAssignment.objects.exclude(desired_line_id=F("applied_line_id")).values_list(
            "workspace_id", flat=True
        )
    )
    return list(Workspace.objects.filter(pk__in=ids).order_by("pk"))


def contacts_of(workspace: Workspace, contact_ids: Iterable[int]) -> list[int]:
    return list(
        Contact.objects.filter(workspace=workspace, pk__in=list(contact_ids)).values_list(
            "pk", flat=True
        )
    )
