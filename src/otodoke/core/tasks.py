"""Tasks of the core app. `record_heartbeat` proves the task framework and its worker run."""

from django.tasks import task

from otodoke.core.models import Heartbeat


@task()
def record_heartbeat(note: str) -> int:
    heartbeat = Heartbeat.objects.create(note=note)
    return heartbeat.pk
