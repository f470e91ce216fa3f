"""A task for the tests that prove the task framework and a real worker process run."""

from django.tasks import task


@task()
def echo(note: str) -> str:
    return note
