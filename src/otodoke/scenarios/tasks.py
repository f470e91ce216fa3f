"""The scheduler's task, on the `automation` queue.

Chosen design: a self-renewing task chain. Each chain tick first enqueues the next one
(`OTODOKE_SCENARIO_TICK_SECONDS` later, default 10) in the same transaction that moves the
chain's marker on, then works; so a worker killed mid-tick never ends the chain, and two
chains never run side by side. A trigger also "kicks" one immediate tick (outside the chain)
so a welcome message goes out within seconds, not at the next tick. `otodoke worker` starts the
chain; `otodoke scenario tick` runs one pass by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from otodoke.scenarios import scheduler
from otodoke.scenarios.models import TickChain


def interval() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "OTODOKE_SCENARIO_TICK_SECONDS", 10)))


@task(queue_name="automation")
def scenario_tick(chain: bool = False, workspace_id: int | None = None) -> dict[str, Any]:
    if chain and not renew_chain():
        return {"chain": "another chain runs"}
    return scheduler.tick(workspace_id=workspace_id).as_dict()


def renew_chain(*, force: bool = False) -> bool:
    """Move the chain marker on and enqueue the next chain tick, atomically; False when the
    marker says another chain's next tick is already queued."""
    now = timezone.now()
    with transaction.atomic():
        marker, _created = TickChain.objects.select_for_update().get_or_create(pk=1)
        # A queued next tick is due at `next_at`; a chain whose tick never ran (worker
        # killed before it started) is taken over once it is clearly overdue.
        queued = marker.next_at
        stale = queued is None or queued < now - 3 * interval()
        if (
            not force
            and queued is not None
            and not stale
            and queued > now + dt.timedelta(seconds=1)
        ):
            return False
        marker.next_at = now + interval()
        marker.save(update_fields=["next_at"])
        scenario_tick.using(run_after=marker.next_at).enqueue(True)
    return True


def ensure_chain() -> None:
    """Start the chain if none is queued (worker start, activation)."""
    now = timezone.now()
    marker = TickChain.objects.filter(pk=1).first()
    if marker is None or marker.next_at is None or marker.next_at < now - 3 * interval():
        renew_chain(force=True)


def kick(workspace_id: int) -> None:
    """One tick for this workspace as soon as a worker is free (after the trigger commits)."""
    transaction.on_commit(lambda: scenario_tick.enqueue(False, workspace_id))
