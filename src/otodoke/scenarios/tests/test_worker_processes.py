"""Scenario sends with real `otodoke worker` processes: a worker SIGKILLed after the ledger was
recorded and before everything was sent, and two workers racing on the same due steps. Each
(enrolment, step) reaches the friend exactly once; the emulator counts the copies."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.campaigns.tests.test_workers import StartWorker, wait_for, workers  # noqa: F401
from otodoke.contacts.tagging import add_tags
from otodoke.scenarios import scheduler
from otodoke.scenarios.models import (
    Enrolment,
    EnrolmentStatus,
    SendBatch,
    SendStatus,
    StepSend,
)
from otodoke.scenarios.services import set_quiet_hours
from otodoke.scenarios.tasks import scenario_tick
from otodoke.scenarios.tests.helpers import active, text
from otodoke.testing.processes import tcp_ports
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
TRIGGER = {"kind": "tag_added", "params": {"tag": "来店"}}


@pytest.fixture(autouse=True)
def _fast_chain(monkeypatch: pytest.MonkeyPatch, workspace: Workspace) -> None:
    # The workers' scheduler chain ticks every second; sends go out at any hour.
    monkeypatch.setenv("OTODOKE_SCENARIO_TICK_SECONDS", "1")
    set_quiet_hours(workspace, enabled=False)


def _sent(scenario_id: int) -> int:
    return StepSend.objects.filter(scenario_id=scenario_id, status=SendStatus.SENT).count()


def test_a_worker_killed_between_recording_and_sending_resumes_without_duplicates(
    workspace: Workspace,
    line: Line,
    workers: StartWorker,  # noqa: F811
) -> None:
    contacts = make_contacts(workspace, line, 300)
    line.rate_limits(multicast="5/s")  # 30 multicasts of 10: about six seconds of sending
    line.faults(drop=0.1, drop_after_accept=1.0)  # some accepted requests lose their answer
    scenario, _ = active(workspace, [text("ご来店ありがとうございます")], trigger=TRIGGER)
    first = workers()
    add_tags(workspace, [c.pk for c in contacts], ["来店"])  # enrols all 300 and kicks a tick

    wait_for(lambda: _sent(scenario.pk) >= 50, 90)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # Killed with the whole step recorded in the ledger and part of it not yet sent.
    assert StepSend.objects.filter(scenario=scenario).count() == 300
    assert SendBatch.objects.exclude(status=SendStatus.SENT).exists()

    workers()
    wait_for(lambda: _sent(scenario.pk) == 300, 120)

    copies = line.copies()
    assert len(copies) == 300 and set(copies.values()) == {1}
    assert not StepSend.objects.filter(scenario=scenario).exclude(status=SendStatus.SENT).exists()
    assert (
        Enrolment.objects.filter(scenario=scenario, status=EnrolmentStatus.COMPLETED).count() == 300
    )


def test_two_workers_racing_to_send_the_same_recorded_steps_send_each_once(
    workspace: Workspace,
    line: Line,
    workers: StartWorker,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    contacts = make_contacts(workspace, line, 400)  # 40 multicasts: about eight seconds
    monkeypatch.setenv("OTODOKE_LINE_RATES", "multicast=5")
    line.rate_limits(multicast="5/s")
    line.faults(error_500=0.05)
    scenario, _ = active(workspace, [text("ご来店ありがとうございます")], trigger=TRIGGER)
    add_tags(workspace, [c.pk for c in contacts], ["来店"])
    # The step is recorded in the ledger (retry keys and all) before any worker runs, and a
    # tick is queued for each worker: both start sending the same batches at once.
    scheduler.tick(send=False)
    assert StepSend.objects.filter(scenario=scenario).count() == 400
    scenario_tick.enqueue(False, workspace.pk)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    processes = [workers(log) for log in logs]

    owner: dict[int, int] = {}
    deadline = time.monotonic() + 120
    while _sent(scenario.pk) < 400:
        assert time.monotonic() < deadline, "timed out"
        for process in processes:
            for port in tcp_ports(process.pid):
                owner.setdefault(port, process.pid)
        time.sleep(0.02)

    copies = line.copies()
    assert len(copies) == 400 and set(copies.values()) == {1}
    accepted = [
        r
        for r in line.responses("/v2/bot/message/multicast")["requests"]
        if r["status"] in ("200", "409")
    ]
    by_worker = {p.pid: 0 for p in processes}
    for request in accepted:
        pid = owner.get(request["client_port"])
        if pid is not None:
            by_worker[pid] += 1
    # Both processes sent multicasts of this one step, and still nobody got two copies.
    assert all(count > 0 for count in by_worker.values()), (by_worker, len(accepted))
