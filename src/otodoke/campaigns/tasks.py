"""Tasks: thin wrappers that pass IDs to the engine. Every one is safe to run twice."""

from __future__ import annotations

from django.tasks import task

from otodoke.campaigns import engine
from otodoke.core import lanes


@task(queue_name=lanes.SENDS)
def run_delivery(delivery_id: int) -> str:
    return engine.run_delivery(delivery_id)
