"""A task for the tests that prove the task framework and a real worker process run."""

from django.tasks import task

from otodoke.core import lanes


@task(queue_name=lanes.DEFAULT)
def echo(note: str) -> str:
    return note


def run_ready_tasks() -> None:
    """Run every ready task with the real database worker, in this process, then return."""
    from django_tasks_db.management.commands.db_worker import Worker

    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()
