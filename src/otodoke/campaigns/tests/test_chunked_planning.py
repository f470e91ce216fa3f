"""Personalised sends are planned in chunks while sending (issue 14.3), over real HTTP.

Every test sends a personalised text (each recipient's own name, so one push each) to more
recipients than one chunk, and reads the outcome at the emulator: who received how many copies.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Min
from django.test import Client
from django.utils import timezone

from otodoke.campaigns import chunks, engine, planning, services
from otodoke.campaigns.conf import engine_conf
from otodoke.campaigns.models import (
    Batch,
    BatchStatus,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
    RecipientStatus,
)
from otodoke.campaigns.tests.conftest import Line, make_contacts, run, send_all
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

PERSONAL = [{"type": "text", "text": "{{ name }}様、春のご案内です"}]
CHUNK = 6


@pytest.fixture
def chunked(engine_settings: Any) -> Any:
    engine_settings.OTODOKE_PLAN_CHUNK = CHUNK
    # Small claim windows, so the dispatcher needs the next chunk before the first is sent.
    engine_settings.OTODOKE_SEND_CONCURRENCY = 4
    engine_settings.OTODOKE_BATCH_LEASE_SECONDS = 1
    return engine_settings


def _copies(line: Line, contacts: list[Contact]) -> list[int]:
    copies = line.copies()
    return [copies.get(c.line_user_id or "", 0) for c in contacts]


def test_the_first_request_goes_out_before_planning_is_done(
    workspace: Workspace, line: Line, chunked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = make_contacts(workspace, line, 40)
    seen_while_planning: list[int] = []
    step = chunks.ChunkPlanner.step

    def watched(self: chunks.ChunkPlanner, size: int | None = None) -> int | None:
        # How many requests had been started (stamped just before they leave) when a chunk
        # starts being planned.
        started = Batch.objects.filter(first_attempt_at__isnull=False).count()
        seen_while_planning.append(started)
        return step(self, size)

    monkeypatch.setattr(chunks.ChunkPlanner, "step", watched)
    _campaign, delivery = send_all(workspace, PERSONAL, track_links=False)
    assert run(delivery.pk) == DeliveryStatus.DONE
    delivery.refresh_from_db()
    first = Batch.objects.filter(delivery=delivery).aggregate(t=Min("first_attempt_at"))["t"]
    assert delivery.planned_at is not None and first is not None
    assert first < delivery.planned_at
    # The first step ran inside the freeze (nothing sent yet); later ones while sending.
    assert seen_while_planning[0] == 0 and max(seen_while_planning) > 0
    assert len(seen_while_planning) >= 40 // CHUNK
    assert _copies(line, contacts) == [1] * 40
    received = line.received(contacts[7].line_user_id or "")
    assert received[0]["messages"][0]["text"] == f"{contacts[7].name}様、春のご案内です"
    assert (delivery.sent, delivery.failed, delivery.planned, delivery.plan_total) == (
        40,
        0,
        40,
        40,
    )
    assert delivery.planning is None and delivery.method == "push"


def test_counts_are_right_while_planning_is_still_running(
    workspace: Workspace, line: Line, chunked: Any, client: Client, owner: Any
) -> None:
    make_contacts(workspace, line, 30)
    make_contacts(workspace, line, 4, consent=False)
    campaign, delivery = send_all(workspace, PERSONAL, track_links=False)
    engine._freeze(Delivery.objects.select_related("campaign__workspace").get(pk=delivery.pk),
                   engine_conf())  # fmt: skip
    delivery.refresh_from_db()
    # Everyone is frozen and counted at once; only the first chunk is rendered and batched.
    assert (delivery.total, delivery.eligible, delivery.excluded) == (34, 30, 4)
    assert (delivery.planned, delivery.plan_total) == (CHUNK, 30)
    assert delivery.planning == 20.0
    assert Batch.objects.filter(delivery=delivery).count() == CHUNK
    unplanned = DeliveryRecipient.objects.filter(
        delivery=delivery, status=RecipientStatus.PENDING, batch_no__isnull=True
    )
    assert unplanned.count() == 30 - CHUNK
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/campaigns/{campaign.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert 'data-testid="planning-percent">preparing messages 20%' in page.content.decode()
    assert run(delivery.pk) == DeliveryStatus.DONE
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.excluded, delivery.planned) == (30, 4, 30)
    assert delivery.planned_at is not None


def test_a_crash_between_chunks_resumes_with_everyone_sent_exactly_once(
    workspace: Workspace, line: Line, chunked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = make_contacts(workspace, line, 40)
    calls = {"n": 0}
    write = planning.write_batch_number_pairs

    def crashing(pairs: list[tuple[int, int]]) -> None:
        calls["n"] += 1
        write(pairs)  # the chunk's batches and numbers are written, then the worker dies
        if calls["n"] == 3:
            raise RuntimeError("worker killed while planning")

    monkeypatch.setattr(planning, "write_batch_number_pairs", crashing)
    _campaign, delivery = send_all(workspace, PERSONAL, track_links=False)
    with pytest.raises(RuntimeError, match="worker killed"):
        run(delivery.pk)
    delivery.refresh_from_db()
    # The crashed chunk left nothing behind: two chunks planned, the third rolled back.
    assert (delivery.planned, delivery.plan_cursor - delivery.plan_end < 0) == (2 * CHUNK, True)
    assert Batch.objects.filter(delivery=delivery).count() == 2 * CHUNK
    assert DeliveryRecipient.objects.filter(delivery=delivery, batch_no__isnull=False).count() == (
        2 * CHUNK
    )
    assert sum(_copies(line, contacts)) <= 2 * CHUNK
    # The dead worker's leases run out; the watchdog's run resumes (same retry keys).
    Batch.objects.filter(delivery=delivery, status=BatchStatus.IN_FLIGHT).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert run(delivery.pk) == DeliveryStatus.DONE
    assert _copies(line, contacts) == [1] * 40
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.failed, delivery.unknown, delivery.planned) == (40, 0, 0, 40)
    numbers = list(Batch.objects.filter(delivery=delivery).values_list("number", flat=True))
    assert sorted(numbers) == list(range(40))
    assert not DeliveryRecipient.objects.filter(delivery=delivery).exclude(
        status=RecipientStatus.SENT
    )


def test_cancel_during_planning_stops_rendering_and_sending(
    workspace: Workspace, line: Line, chunked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacts = make_contacts(workspace, line, 40)
    steps = {"n": 0}
    step = chunks.ChunkPlanner.step

    def cancelling(self: chunks.ChunkPlanner, size: int | None = None) -> int | None:
        steps["n"] += 1
        if steps["n"] == 3:  # two chunks planned, requests going out: staff press cancel
            services.cancel_campaign(campaign, actor=None)
        return step(self, size)

    monkeypatch.setattr(chunks.ChunkPlanner, "step", cancelling)
    campaign, delivery = send_all(workspace, PERSONAL, track_links=False)
    assert run(delivery.pk) == DeliveryStatus.CANCELLED
    delivery.refresh_from_db()
    assert delivery.planned == 2 * CHUNK and delivery.planned_at is None
    assert Batch.objects.filter(delivery=delivery).count() == 2 * CHUNK
    copies = _copies(line, contacts)
    assert set(copies) <= {0, 1} and sum(copies) <= 2 * CHUNK
    statuses = dict(
        DeliveryRecipient.objects.filter(delivery=delivery).values_list("contact_id", "status")
    )
    for contact, got in zip(contacts, copies, strict=True):
        assert statuses[contact.pk] == (RecipientStatus.SENT if got else RecipientStatus.CANCELLED)
    assert not Batch.objects.filter(
        delivery=delivery, status__in=[BatchStatus.PENDING, BatchStatus.IN_FLIGHT]
    ).exists()


def test_the_quota_check_pauses_a_chunked_send_before_its_first_request(
    workspace: Workspace, line: Line, chunked: Any
) -> None:
    contacts = make_contacts(workspace, line, 20)
    line.set_channel(quota_type="limited", quota_value=10)
    _campaign, delivery = send_all(workspace, PERSONAL, track_links=False)
    assert run(delivery.pk) == DeliveryStatus.PAUSED
    delivery.refresh_from_db()
    assert "Only 10 of these 20 messages" in delivery.reason
    assert sum(_copies(line, contacts)) == 0
    assert delivery.planned == CHUNK  # planning waits with the send
