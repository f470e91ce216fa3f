"""Worker lanes (issue 12.27): a long send in one real worker process does not hold up the
webhook events that arrive meanwhile."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_django.live_server_helper import LiveServer

from otodoke.campaigns import services
from otodoke.campaigns.models import Batch, BatchStatus, Delivery, DeliveryStatus
from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.tests.conftest import event, post_signed
from otodoke.testing.processes import otodoke
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """One `otodoke worker`, as `make demo` and the README start it (no options but the
    poll interval); yields its log."""
    for name, value in {
        "OTODOKE_MULTICAST_SIZE": "10",
        "OTODOKE_LINE_RATES": "multicast=3",  # 40 batches: about 13 s of sending
        "OTODOKE_RESULT_FLUSH_SECONDS": "0.05",
        "OTODOKE_SEND_CONCURRENCY": "4",
    }.items():
        monkeypatch.setenv(name, value)
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        process = otodoke("worker", "--interval", "0.1", stdout=output, stderr=subprocess.STDOUT)
    yield log
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_webhooks_are_processed_while_a_long_send_runs_in_the_same_worker(
    workspace: Workspace, line: Line, worker: Path, live_server: LiveServer
) -> None:
    recipients = make_contacts(workspace, line, 400)
    line.rate_limits(multicast="3/s")
    campaign = services.create_campaign(
        workspace,
        name="long send",
        messages=[{"type": "text", "text": "hi"}],
        target={"include": [{"contacts": [c.pk for c in recipients]}]},
        actor=None,
    )
    delivery = services.send_campaign(campaign, actor=None)
    wait_for(
        lambda: Batch.objects.filter(delivery=delivery, status=BatchStatus.SENT).exists(),
        90,
        "the send to start",
    )

    # 200 friends (not recipients of this send) block the account while it is sending.
    leavers = ["U" + secrets.token_hex(16) for _ in range(200)]
    url = f"{live_server.url}{workspace.webhook_path()}"
    now_ms = int(time.time() * 1000)
    for start in range(0, 200, 10):
        events = [
            event("unfollow", uid, event_id=f"01LANES{i:020d}", timestamp_ms=now_ms + i)
            for i, uid in enumerate(leavers[start : start + 10], start=start)
        ]
        assert post_signed(url, events, secret="secret").status_code == 200

    wait_for(
        lambda: (
            WebhookEvent.objects.filter(workspace=workspace, status=WebhookStatus.PROCESSED).count()
            == 200
        ),
        60,
        "the unfollows to be processed",
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENDING, "the send should still be running"
    blocked = Contact.objects.filter(line_user_id__in=leavers, line_status=LineStatus.BLOCKED)
    assert blocked.count() == 200

    wait_for(lambda: _status(delivery) == DeliveryStatus.DONE, 120, "the send to finish")
    delivery.refresh_from_db()
    assert delivery.sent == 400
    processed = [
        at
        for at in WebhookEvent.objects.filter(workspace=workspace).values_list(
            "processed_at", flat=True
        )
        if at is not None
    ]
    assert len(processed) == 200
    assert delivery.finished_at is not None and max(processed) < delivery.finished_at
    log = worker.read_text()
    assert "queues=webhooks" in log and "queues=sends" in log, log


def _status(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status
