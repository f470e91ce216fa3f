"""Real worker processes: a SIGKILL mid-send and two workers racing still send exactly once."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from otodoke.campaigns import services
from otodoke.campaigns.models import Batch, BatchStatus, Delivery, DeliveryStatus
from otodoke.campaigns.tasks import run_delivery
from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.testing.processes import otodoke, tcp_ports
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


class StartWorker(Protocol):
    def __call__(self, log: Path | None = None) -> subprocess.Popen[bytes]: ...


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartWorker]:
    # Worker processes read the engine settings from the environment.
    for name, value in {
        "OTODOKE_MULTICAST_SIZE": "10",
        "OTODOKE_BATCH_LEASE_SECONDS": "2",
        "OTODOKE_DELIVERY_WATCHDOG_SECONDS": "2",
        "OTODOKE_LINE_SEND_TIMEOUT": "1",
        "OTODOKE_RESULT_FLUSH_SECONDS": "0.05",
        "OTODOKE_SEND_CONCURRENCY": "4",
    }.items():
        monkeypatch.setenv(name, value)
    started: list[subprocess.Popen[bytes]] = []

    def start(log: Path | None = None) -> subprocess.Popen[bytes]:
        output: Any = log.open("wb") if log else subprocess.DEVNULL
        process = otodoke("worker", "--interval", "0.1", stdout=output, stderr=output)
        if log:
            output.close()  # the child has its own copy
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def status_of(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


def test_a_worker_killed_mid_send_is_resumed_without_duplicates(
    workspace: Workspace, line: Line, workers: StartWorker
) -> None:
    contacts = make_contacts(workspace, line, 300)
    line.rate_limits(multicast="5/s")  # 30 batches: about six seconds of sending
    line.faults(drop=0.1, drop_after_accept=1.0)
    campaign = services.create_campaign(
        workspace,
        name="kill",
        messages=[{"type": "text", "text": "hi"}],
        target={"include": [{"contacts": [c.pk for c in contacts]}]},
        actor=None,
    )
    delivery = services.send_campaign(campaign, actor=None)

    first = workers()
    wait_for(
        lambda: Batch.objects.filter(delivery=delivery, status=BatchStatus.SENT).count() >= 5, 60
    )
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert Batch.objects.filter(delivery=delivery).exclude(status=BatchStatus.SENT).exists()

    workers()
    wait_for(lambda: status_of(delivery) == DeliveryStatus.DONE, 90)

    copies = line.copies()
    assert len(copies) == 300 and set(copies.values()) == {1}
    delivery.refresh_from_db()
    assert delivery.sent == 300


def test_two_workers_racing_on_one_campaign_send_each_batch_once(
    workspace: Workspace,
    line: Line,
    workers: StartWorker,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    contacts = make_contacts(workspace, line, 400)  # 40 multicasts: about four seconds
    monkeypatch.setenv("OTODOKE_LINE_RATES", "multicast=10")
    line.rate_limits(multicast="10/s")
    line.faults(error_500=0.05)
    # Both workers are up and polling before there is anything to claim, so both can race.
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    processes = [workers(log) for log in logs]
    wait_for(lambda: all("Starting worker" in log.read_text() for log in logs), 90)
    campaign = services.create_campaign(
        workspace,
        name="race",
        messages=[{"type": "text", "text": "hi"}],
        target={"include": [{"contacts": [c.pk for c in contacts]}]},
        actor=None,
    )
    delivery = services.send_campaign(campaign, actor=None)
    run_delivery.enqueue(delivery.pk)  # a second run of the same delivery, for the other worker

    # Which worker owns which connection: the emulator logs each request's client port.
    owner: dict[int, int] = {}
    deadline = time.monotonic() + 90
    while status_of(delivery) != DeliveryStatus.DONE:
        assert time.monotonic() < deadline, "timed out"
        for process in processes:
            for port in tcp_ports(process.pid):
                owner.setdefault(port, process.pid)
        time.sleep(0.02)

    copies = line.copies()
    assert len(copies) == 400 and set(copies.values()) == {1}
    delivery.refresh_from_db()
    assert delivery.sent == 400
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
    # Both processes delivered batches of this one campaign, and still nobody got two copies.
    assert all(count > 0 for count in by_worker.values()), (by_worker, len(accepted))
