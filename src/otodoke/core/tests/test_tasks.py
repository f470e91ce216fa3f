"""The task framework and the real database worker, end to end."""

import pytest
from django.tasks import TaskResultStatus, task_backends
from django_tasks_db.models import DBTaskResult

from otodoke.core.models import Heartbeat
from otodoke.core.tasks import record_heartbeat
from otodoke.testing.processes import otodoke


def test_default_backend_is_the_database_backend() -> None:
    assert type(task_backends["default"]).__name__ == "DatabaseBackend"


@pytest.mark.django_db(transaction=True)
def test_enqueued_task_is_run_by_a_real_worker_process() -> None:
    result = record_heartbeat.enqueue("smoke")
    assert result.status == TaskResultStatus.READY
    assert not Heartbeat.objects.exists()

    worker = otodoke("worker", "--batch")
    assert worker.wait(timeout=60) == 0

    result = record_heartbeat.get_result(result.id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    heartbeat = Heartbeat.objects.get()
    assert heartbeat.note == "smoke"
    assert result.return_value == heartbeat.pk
    assert DBTaskResult.objects.get(id=result.id).worker_ids
