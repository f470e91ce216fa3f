"""The scheduler's task chain: one chain at a time, renewed before each tick's work."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from otodoke.scenarios.models import TickChain
from otodoke.scenarios.tasks import ensure_chain, scenario_tick

pytestmark = pytest.mark.django_db(transaction=True)


def queued_ticks() -> list[DBTaskResult[..., object]]:
    return list(DBTaskResult.objects.filter(task_path__endswith="scenario_tick", status="READY"))


def test_starting_the_chain_twice_queues_one_tick_on_the_automation_queue() -> None:
    ensure_chain()
    ensure_chain()
    (tick,) = queued_ticks()
    assert tick.queue_name == "automation"
    assert tick.run_after is not None and tick.run_after > timezone.now()


def test_a_due_chain_tick_queues_the_next_and_a_duplicate_steps_aside() -> None:
    TickChain.objects.create(pk=1, next_at=timezone.now())
    first = scenario_tick.call(True)
    second = scenario_tick.call(True)
    assert "claimed" in first
    assert second == {"chain": "another chain runs"}
    assert len(queued_ticks()) == 1
