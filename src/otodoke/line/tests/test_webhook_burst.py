"""Webhook ingest at burst rate and batched draining (issue 14.2), on both databases.

Bursts go over real HTTP: to the ASGI fast path served by uvicorn (what `otodoke serve`
runs) and to the Django view on the live server. Drains fetch profiles from the emulator.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.db import connection, transaction
from django.utils import timezone

from line_emulator.testing import TEST_SECRET, serving
from otodoke.asgi import django_application
from otodoke.line import drain, ingest, services, signals
from otodoke.line.asgi import WebhookFastPath
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.services import signature_for
from otodoke.line.tests.conftest import event, post_signed
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_700_000_000_000


def user(n: int) -> str:
    return f"U{n:032x}"


def signed(events: list[dict[str, Any]], secret: str = TEST_SECRET) -> tuple[bytes, str]:
    body = json.dumps({"destination": user(0), "events": events}).encode()
    return body, signature_for(secret, body)


def friend_events(n: int) -> list[dict[str, Any]]:
    """Follow, message and postback of friend n, a second apart."""
    uid = user(n)
    return [
        event("follow", uid, event_id=f"01F{n:06d}", timestamp_ms=T0 + n * 10),
        event(
            "message",
            uid,
            event_id=f"01M{n:06d}",
            timestamp_ms=T0 + n * 10 + 1000,
            message={"type": "text", "id": f"m{n}", "text": "予約できますか？"},
        ),
        event(
            "postback",
            uid,
            event_id=f"01P{n:06d}",
            timestamp_ms=T0 + n * 10 + 2000,
            postback={"data": f"action=book&slot={n}"},
        ),
    ]


def redelivered(e: dict[str, Any]) -> dict[str, Any]:
    return {**e, "deliveryContext": {"isRedelivery": True}}


@pytest.fixture
def fast_path_url(workspace: Workspace) -> Iterator[str]:
    """The ASGI application `otodoke serve` runs, served by uvicorn on a free port."""
    app = WebhookFastPath(django_application)
    with serving(app) as url:
        yield f"{url}{workspace.webhook_path()}"
    app.close()


@pytest.fixture
def committed_signals() -> Iterator[Counter[tuple[str, int, str]]]:
    """(signal, contact, event time) → how many times it was sent in a transaction that
    committed: a send inside a rolled-back batch does not count, as its effects do not."""
    seen: Counter[tuple[str, int, str]] = Counter()
    lock = threading.Lock()
    receivers = {}
    for name in ("friend_followed", "message_received", "postback_received"):

        def receiver(name: str = name, **kwargs: Any) -> None:
            key = (name, kwargs["contact_id"], kwargs["at"].isoformat())

            def count() -> None:
                with lock:
                    seen[key] += 1

            transaction.on_commit(count)

        receivers[name] = receiver
        getattr(signals, name).connect(receiver, dispatch_uid=f"test-{name}")
    yield seen
    for name in receivers:
        getattr(signals, name).disconnect(dispatch_uid=f"test-{name}")


def add_emulator_friends(control: httpx.Client, count: int) -> None:
    friends = [{"user_id": user(n), "display_name": f"友だち{n}"} for n in range(1, count + 1)]
    response = control.post("/friends", json={"friends": friends})
    assert response.status_code in (200, 201), response.text


def burst(url: str, bodies: list[tuple[bytes, str]], concurrency: int = 16) -> list[int]:
    with httpx.Client(timeout=30) as client:

        def post(item: tuple[bytes, str]) -> int:
            body, signature = item
            headers = {"content-type": "application/json", "x-line-signature": signature}
            return client.post(url, content=body, headers=headers).status_code

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(post, bodies))


def test_fast_path_burst_with_redeliveries_stores_each_event_once(fast_path_url: str) -> None:
    events = [e for n in range(1, 41) for e in friend_events(n)]
    bodies = [signed([e]) for e in events]
    # LINE redelivers (same webhookEventId, isRedelivery true) and sometimes duplicates.
    bodies += [signed([redelivered(e)]) for e in events[::3]]
    bodies += [signed(events[:5] + events[:5])]  # one body naming five events twice

    statuses = burst(fast_path_url, bodies)

    assert statuses == [200] * len(bodies)
    stored = Counter(WebhookEvent.objects.values_list("webhook_event_id", flat=True))
    assert set(stored) == {e["webhookEventId"] for e in events}
    assert set(stored.values()) == {1}
    assert WebhookEvent.objects.filter(status=WebhookStatus.PENDING).count() == len(events)


def test_django_view_burst_with_redeliveries_stores_each_event_once(webhook_url: str) -> None:
    events = [e for n in range(1, 21) for e in friend_events(n)]
    bodies = [signed([e]) for e in events] + [signed([redelivered(e)]) for e in events]

    statuses = burst(webhook_url, bodies, concurrency=8)

    assert statuses == [200] * len(bodies)
    assert WebhookEvent.objects.count() == len(events)
    assert WebhookEvent.objects.filter(is_redelivery=True).count() == 0  # first one kept


def test_fast_path_refuses_bad_signatures_and_stores_nothing(
    fast_path_url: str, workspace: Workspace
) -> None:
    events = friend_events(1)
    body, _good = signed(events)
    _other_body, wrong = signed(events, secret="not-the-channel-secret")
    headers = {"content-type": "application/json"}

    forged = httpx.post(fast_path_url, content=body, headers={**headers, "x-line-signature": wrong})
    unsigned = httpx.post(fast_path_url, content=body, headers=headers)
    tampered = httpx.post(
        fast_path_url,
        content=body.replace(b"action=book", b"action=free"),
        headers={**headers, "x-line-signature": _good},
    )
    unknown = post_signed(fast_path_url.replace(workspace.webhook_key, "nope"), events)

    assert (forged.status_code, unsigned.status_code, tampered.status_code) == (403, 400, 403)
    assert unknown.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_fast_path_uses_a_changed_channel_secret_at_once(
    fast_path_url: str, workspace: Workspace
) -> None:
    assert post_signed(fast_path_url, friend_events(1)[:1]).status_code == 200  # cached now
    workspace.channel_secret = "a-brand-new-channel-secret-0000"
    workspace.save(update_fields=["channel_secret"])

    old = post_signed(fast_path_url, friend_events(2)[:1])
    new = post_signed(fast_path_url, friend_events(3)[:1], secret="a-brand-new-channel-secret-0000")

    assert (old.status_code, new.status_code) == (403, 200)
    assert set(WebhookEvent.objects.values_list("webhook_event_id", flat=True)) == {
        "01F000001",
        "01F000003",
    }


def test_verify_call_and_other_requests_still_reach_django(fast_path_url: str) -> None:
    assert post_signed(fast_path_url, []).status_code == 200  # LINE's "Verify" button
    assert httpx.get(fast_path_url).status_code == 405  # not POST: Django's view answers
    assert not WebhookEvent.objects.exists()


def store(workspace: Workspace, events: list[dict[str, Any]]) -> None:
    body, signature = signed(events)
    assert ingest.ingest(workspace.webhook_key, body, signature) == ingest.OK


def race(workspace: Workspace, drainers: int = 2) -> list[dict[str, int]]:
    """`drainers` threads drain the workspace at once, in small batches, each on its own
    database connection."""
    start = threading.Barrier(drainers)

    def run() -> dict[str, int]:
        try:
            start.wait()
            return drain.drain_pending(workspace.pk, batch_size=7)
        finally:
            connection.close()

    with ThreadPoolExecutor(drainers) as pool:
        return list(pool.map(lambda _: run(), range(drainers)))


def test_two_drainers_racing_process_each_event_once_and_signal_once(
    workspace: Workspace, control: httpx.Client, committed_signals: Counter[tuple[str, int, str]]
) -> None:
    friends = 30
    add_emulator_friends(control, friends)
    events = [friend_events(n) for n in range(1, friends + 1)]
    follows = [e[0] for e in events]
    store(workspace, follows)
    store(workspace, [redelivered(e) for e in follows[:10]])

    first = race(workspace)

    store(workspace, [e for trio in events for e in trio[1:]])
    second = race(workspace)

    counted = Counter[str]()
    for counts in first + second:
        counted.update(counts)
    assert counted == {"processed": 3 * friends}
    rows = WebhookEvent.objects.all()
    assert {(r.status, r.attempts, r.claim) for r in rows} == {("processed", 1, "")}
    assert len(rows) == 3 * friends
    kinds = Counter(name for name, _contact, _at in committed_signals)
    assert kinds == {
        "friend_followed": friends,
        "message_received": friends,
        "postback_received": friends,
    }
    assert set(committed_signals.values()) == {1}
    # The batch's follows fetched every profile from the emulator.
    names = set(workspace.contacts.values_list("line_display_name", flat=True))
    assert names == {f"友だち{n}" for n in range(1, friends + 1)}


class Crash(BaseException):
    """Not an Exception: the worker process dying half-way, not a failing event."""


def test_a_crash_during_a_batch_leaves_its_events_for_the_next_drain(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    committed_signals: Counter[tuple[str, int, str]],
) -> None:
    events = [e for n in range(1, 6) for e in friend_events(n)]
    store(workspace, events)
    applied = []
    real_message = services.PROCESSORS["message"]

    def crashing(event: WebhookEvent, prefetched: Any) -> services.Outcome:
        applied.append(event.pk)
        if len(applied) == 3:
            raise Crash
        return real_message(event, prefetched)

    monkeypatch.setitem(services.PROCESSORS, "message", crashing)

    with pytest.raises(Crash):
        drain.drain_pending(workspace.pk)

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"pending"}
    assert not committed_signals
    assert not workspace.contacts.exists()  # the batch's follows were rolled back too
    # The dead drainer's lease still holds: another drainer leaves those events alone …
    assert drain.drain_pending(workspace.pk) == {}
    monkeypatch.setitem(services.PROCESSORS, "message", real_message)
    lease_end = drain.lease_ends(workspace.pk, now=timezone.now())
    assert lease_end is not None

    # … until it runs out.
    later = drain.drain_pending(workspace.pk, clock=lambda: lease_end + timedelta(seconds=1))

    assert later == {"processed": len(events)}
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert sorted(committed_signals.values()) == [1] * len(events)


def test_a_failing_event_fails_alone_and_is_retried(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [e for n in range(1, 4) for e in friend_events(n)]
    store(workspace, events)
    real_postback = services.PROCESSORS["postback"]

    def failing(event: WebhookEvent, prefetched: Any) -> services.Outcome:
        if event.webhook_event_id == "01P000002":
            raise ValueError("postback handler broke")
        return real_postback(event, prefetched)

    monkeypatch.setitem(services.PROCESSORS, "postback", failing)

    counts = drain.drain_pending(workspace.pk)

    assert counts == {"processed": 8, "failed": 1}
    failed = WebhookEvent.objects.get(status=WebhookStatus.FAILED)
    assert failed.webhook_event_id == "01P000002"
    assert failed.attempts == 1
    assert failed.last_error == "ValueError: postback handler broke"
    assert failed.next_attempt_at is not None
    monkeypatch.setitem(services.PROCESSORS, "postback", real_postback)
    assert services.process_event(failed.pk).status == WebhookStatus.PROCESSED
