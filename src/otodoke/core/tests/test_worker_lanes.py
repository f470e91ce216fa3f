"""`otodoke worker` runs one lane per queue (issue 12.27); each task is on its lane."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.tasks import TaskResultStatus
from django.utils import translation

from otodoke.campaigns.tasks import run_delivery
from otodoke.contacts.tasks import run_import_job
from otodoke.core import lanes
from otodoke.line import tasks as line_tasks
from otodoke.testing.processes import otodoke
from otodoke.testing.tasks import echo


def test_every_task_is_on_its_lane() -> None:
    assert {
        "run_delivery": run_delivery.queue_name,
        "process_pending_webhooks": line_tasks.process_pending_webhooks.queue_name,
        "process_webhook_events": line_tasks.process_webhook_events.queue_name,
        "retry_webhook_event": line_tasks.retry_webhook_event.queue_name,
        "invite_to_link": line_tasks.invite_to_link.queue_name,
        "sync_friends": line_tasks.sync_friends.queue_name,
        "retry_missing_profiles": line_tasks.retry_missing_profiles.queue_name,
        "verify_links": line_tasks.verify_links.queue_name,
        "run_import_job": run_import_job.queue_name,
    } == {
        "run_delivery": "sends",
        "process_pending_webhooks": "webhooks",
        "process_webhook_events": "webhooks",
        "retry_webhook_event": "webhooks",
        "invite_to_link": "webhooks",
        "sync_friends": "default",
        "retry_missing_profiles": "default",
        "verify_links": "default",
        "run_import_job": "default",
    }
    assert lanes.queues() == ["default", "sends", "webhooks", "automation"]


def test_the_automation_queue_accepts_tasks() -> None:
    """The scenario engine enqueues on `automation`; the backend must accept it."""
    assert echo.using(queue_name=lanes.AUTOMATION).queue_name == "automation"
    echo.using(queue_name=lanes.AUTOMATION).get_backend().validate_task(
        echo.using(queue_name=lanes.AUTOMATION)
    )


def test_lanes_by_default_one_per_queue_and_star_is_one_lane_for_all() -> None:
    assert [spec.queues for spec in lanes.parse_lanes("")] == [
        ("default",),
        ("sends",),
        ("webhooks",),
        ("automation",),
    ]
    assert [spec.queues for spec in lanes.parse_lanes("webhooks, sends", threads=2)] == [
        ("webhooks",),
        ("webhooks",),
        ("sends",),
        ("sends",),
    ]
    assert [spec.queues for spec in lanes.parse_lanes("*")] == [("*",)]


def test_an_unknown_queue_is_refused_naming_it_and_the_real_ones() -> None:
    with translation.override("en"), pytest.raises(CommandError) as error:
        call_command("worker", "--queues", "webhooks,sendz")
    assert "sendz" in str(error.value) and "webhooks" in str(error.value)
    assert "automation" in str(error.value)
    with translation.override("ja"), pytest.raises(CommandError) as error:
        call_command("worker", "--queues", "sendz")
    assert "不明なキュー" in str(error.value)


@pytest.mark.django_db(transaction=True)
def test_a_batch_worker_runs_the_tasks_of_every_lane() -> None:
    results = [echo.using(queue_name=name).enqueue(name) for name in lanes.queues()]
    worker = otodoke("worker", "--batch")
    assert worker.wait(timeout=90) == 0
    for result in results:
        done = echo.get_result(result.id)
        assert done.status == TaskResultStatus.SUCCESSFUL
        assert done.return_value == result.task.queue_name


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_every_lane_and_the_worker_exits_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = otodoke("worker", "--interval", "0.1", stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while log.read_text().count("Starting worker") < 4:
        assert worker.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, log.read_text()
    text = log.read_text()
    for name in lanes.queues():
        assert f"queues={name}" in text


def test_a_lane_that_dies_stops_the_worker_with_status_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A supervisor (systemd, make demo) then restarts the whole worker, not a worker with a
    silently missing lane."""
    from django_tasks_db.management.commands.db_worker import Worker

    ran: list[list[str]] = []

    def run(self: Worker) -> None:
        ran.append(self.queue_names)
        if self.queue_names == ["sends"]:
            raise RuntimeError("database went away")
        while self.running:
            time.sleep(0.01)

    monkeypatch.setattr(Worker, "run", run)
    code = lanes.run_lanes(lanes.parse_lanes(""), interval=0.1, handle_signals=False)
    assert code == 1
    assert sorted(ran) == [["automation"], ["default"], ["sends"], ["webhooks"]]


def test_a_lane_waits_out_sqlites_database_is_locked_and_carries_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long write elsewhere (an import, a webhook burst) can outlast SQLite's busy timeout;
    the lane retries instead of stopping the worker."""
    from django.db import OperationalError
    from django_tasks_db.management.commands.db_worker import Worker

    calls: list[str] = []
    monkeypatch.setattr("otodoke.core.lanes.time.sleep", lambda s: calls.append(f"sleep {s}"))

    def run(self: Worker) -> None:
        calls.append("run")
        if calls.count("run") < 3:
            raise OperationalError("database is locked")

    monkeypatch.setattr(Worker, "run", run)
    code = lanes.run_lanes([lanes.LaneSpec(("default",))], interval=0.1, handle_signals=False)
    assert code == 0
    assert calls == ["run", "sleep 1.0", "run", "sleep 2.0", "run"]


def test_other_database_errors_still_stop_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import OperationalError
    from django_tasks_db.management.commands.db_worker import Worker

    def run(self: Worker) -> None:
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Worker, "run", run)
    code = lanes.run_lanes([lanes.LaneSpec(("default",))], interval=0.1, handle_signals=False)
    assert code == 1
