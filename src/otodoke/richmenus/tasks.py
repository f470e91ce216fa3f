"""The rich-menu sync task, on the `automation` queue, and its self-renewing chain.

The chain (as the scenario tick's, `scenarios.tasks`): each chain run first enqueues the next
one `OTODOKE_RICHMENU_SYNC_SECONDS` later (default 20) while moving the marker on, then syncs
every workspace with rules, so a segment change nobody announced (a birthday, "last visit
more than 60 days ago") reaches LINE within a minute. A rule change, a publish or a contact
entering a rule's segment "kicks" one run at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from otodoke.richmenus import sync
from otodoke.richmenus.models import SyncChain
from otodoke.workspaces.models import Workspace


def interval() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "OTODOKE_RICHMENU_SYNC_SECONDS", 20)))


@task(queue_name="automation")
def richmenu_sync(
    chain: bool = False, workspace_id: int | None = None, full: bool = False
) -> dict[str, Any]:
    if chain and not renew_chain():
        return {"chain": "another chain runs"}
    results: dict[str, Any] = {}
    if workspace_id is not None:
        targets = list(Workspace.objects.filter(pk=workspace_id))
    else:
        targets = sync.workspaces_with_rules()
    for workspace in targets:
        results[workspace.slug] = sync.sync(workspace, full=full).as_dict()
    return results


def renew_chain(*, force: bool = False) -> bool:
    now = timezone.now()
    with transaction.atomic():
        marker, _created = SyncChain.objects.select_for_update().get_or_create(pk=1)
        queued = marker.next_at
        stale = queued is None or queued < now - 3 * interval()
        if (
            not force
            and not stale
            and queued is not None
            and queued > now + dt.timedelta(seconds=1)
        ):
            return False
        marker.next_at = now + interval()
        marker.save(update_fields=["next_at"])
        richmenu_sync.using(run_after=marker.next_at).enqueue(True)
    return True


def ensure_chain() -> None:
    now = timezone.now()
    marker = SyncChain.objects.filter(pk=1).first()
    if marker is None or marker.next_at is None or marker.next_at < now - 3 * interval():
        renew_chain(force=True)


def kick(workspace_id: int, *, full: bool = False) -> None:
    """One sync of this workspace as soon as a worker is free (after the change commits)."""
    transaction.on_commit(lambda: richmenu_sync.enqueue(False, workspace_id, full))
