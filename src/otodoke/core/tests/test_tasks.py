"""The task framework and the real database worker, end to end."""

import pytest
from django.tasks import TaskResultStatus, task_backends
from django_tasks_db.models import DBTaskResult

from otodoke.testing.processes import otodoke
from otodoke.testing.tasks import echo


def test_default_backend_is_the_database_backend() -> None:
    assert type(task_backends["default"]).__name__ == "DatabaseBackend"


@pytest.mark.django_db(transaction=True)
def test_enqueued_task_is_run_by_a_real_worker_process() -> None:
    result = echo.enqueue("smoke")
    assert result.status == TaskResultStatus.READY

    worker = otodoke("worker", "--batch")
    assert worker.wait(timeout=60) == 0

    result = echo.get_result(result.id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "smoke"
    assert DBTaskResult.objects.get(id=result.id).worker_ids
