"""The webhook endpoint over real HTTP: signatures, raw storage, deduplication, verify calls."""

from __future__ import annotations

import json
import threading

import httpx
import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_SECRET, EmulatorServer
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.services import signature_for
from otodoke.line.tests.conftest import event, post_signed, run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

USER = "U" + "a" * 32


def test_wrong_signature_is_rejected_and_stores_nothing(webhook_url: str) -> None:
    response = post_signed(
        webhook_url,
        [event("follow", USER, event_id="01WRONGSIG", timestamp_ms=1_700_000_000_000)],
        secret="not-the-channel-secret",
    )

    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


def test_emulator_webhook_signed_with_another_secret_is_refused(
    emulator: EmulatorServer, wired: httpx.Client
) -> None:
    patched = httpx.patch(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}",
        json={"channel_secret": "a-secret-otodoke-does-not-know"},
    )
    assert patched.status_code == 200

    follow = wired.post(f"/friends/{USER}/follow")

    attempt = follow.json()["webhook"]["attempts"][-1]
    assert attempt["status_code"] == 403
    assert not WebhookEvent.objects.exists()


def test_missing_signature_is_rejected_and_stores_nothing(webhook_url: str) -> None:
    body = {
        "destination": USER,
        "events": [event("follow", USER, event_id="01NOSIG", timestamp_ms=1)],
    }

    response = httpx.post(webhook_url, content=json.dumps(body).encode())

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_unknown_webhook_key_is_404(live_server: LiveServer, workspace: Workspace) -> None:
    response = post_signed(f"{live_server.url}/line/webhook/nope/", [])
    assert response.status_code == 404


def test_verify_call_with_no_events_answers_200(webhook_url: str) -> None:
    response = post_signed(webhook_url, [])

    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()


def test_signed_body_that_is_not_a_webhook_is_400(webhook_url: str) -> None:
    response = post_signed(webhook_url, [{"type": "follow"}])  # no id, no timestamp
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_event_is_stored_raw_before_the_answer(wired: httpx.Client) -> None:
    follow = wired.post(f"/friends/{USER}/follow", json={"display_name": "佐藤 花子"})

    assert follow.json()["webhook"]["attempts"][-1]["status_code"] == 200
    stored = WebhookEvent.objects.get()
    sent = follow.json()["webhook"]["events"][0]
    assert stored.webhook_event_id == sent["webhookEventId"]
    assert stored.raw == sent
    assert stored.event_type == "follow"
    assert stored.source_user_id == USER
    assert stored.status == WebhookStatus.PENDING  # processing waits for the worker


def test_redelivered_event_is_stored_and_processed_once(wired: httpx.Client) -> None:
    follow = wired.post(f"/friends/{USER}/follow")
    delivery_id = follow.json()["webhook"]["delivery_id"]

    redelivery = wired.post(f"/webhooks/{delivery_id}/redeliver")
    run_tasks()
    wired.post(f"/webhooks/{delivery_id}/redeliver")
    run_tasks()

    assert redelivery.json()["attempts"][-1]["status_code"] == 200
    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookStatus.PROCESSED
    assert stored.attempts == 1
    assert stored.is_redelivery is False  # the first copy is the one kept


def test_concurrent_duplicate_deliveries_store_one_row(webhook_url: str) -> None:
    events = [event("follow", USER, event_id="01RACE", timestamp_ms=1_700_000_000_000)]
    statuses: list[int] = []

    def deliver() -> None:
        statuses.append(post_signed(webhook_url, events).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    assert WebhookEvent.objects.filter(webhook_event_id="01RACE").count() == 1


def test_unknown_event_types_are_stored_and_acknowledged(webhook_url: str) -> None:
    future = event(
        "somethingNew", USER, event_id="01FUTURE", timestamp_ms=1_700_000_000_000, x={"y": 1}
    )

    response = post_signed(webhook_url, [future])
    run_tasks()

    assert response.status_code == 200
    stored = WebhookEvent.objects.get()
    assert stored.raw == future
    assert stored.status == WebhookStatus.IGNORED


def test_a_burst_of_webhooks_costs_one_drain_task_and_loses_nothing(
    webhook_url: str, settings: Settings
) -> None:
    settings.LINE_WEBHOOK_BATCH_SECONDS = 30
    for n in range(5):
        post_signed(webhook_url, [event("follow", USER, event_id=f"01BURST{n}", timestamp_ms=n)])

    [drain] = DBTaskResult.objects.all()
    assert drain.run_after > timezone.now()
    DBTaskResult.objects.update(run_after=timezone.now())  # skip the wait
    run_tasks()

    assert WebhookEvent.objects.filter(status=WebhookStatus.PROCESSED).count() == 5


def test_a_signed_body_nested_5000_deep_is_400_not_a_500(webhook_url: str) -> None:
    deep = "[" * 5000 + '"x"' + "]" * 5000  # json.dumps itself cannot write this
    body = '{"destination":"U' + "0" * 32 + '","events":[{"type":"message","deep":' + deep
    body += "}]}"
    raw = body.encode()
    response = httpx.post(
        webhook_url,
        content=raw,
        headers={
            "content-type": "application/json",
            "x-line-signature": signature_for(TEST_SECRET, raw),
        },
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()
