"""A task for the tests that prove the task framework and a real worker process run."""

from django.tasks import task

from otodoke.core import lanes


@task(queue_name=lanes.DEFAULT)
def echo(note: str) -> str:
    return note
