"""When the target is read and when a send goes out: at the start of the send, at the scheduled
time in the workspace's zone. Run by the real task worker; a block arrives as LINE's webhook."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_SECRET
from otodoke.campaigns import engine, services
from otodoke.campaigns.models import (
    CampaignStatus,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
    RecipientStatus,
)
from otodoke.campaigns.tests.conftest import TEXT, Line, make_contacts
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line import services as line_services
from otodoke.line.tests.conftest import run_tasks
from otodoke.segments.models import Segment
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def webhooks_at_once(settings: Any) -> Iterator[None]:
    settings.LINE_WEBHOOK_BATCH_SECONDS = 0
    line_services._drain_scheduled_at.clear()
    yield
    line_services._drain_scheduled_at.clear()


@pytest.fixture
def wired(
    workspace: Workspace, line: Line, live_server: LiveServer, webhooks_at_once: None
) -> Workspace:
    """The emulator posts the channel's webhooks, signed with its secret, to Otodoke."""
    workspace.channel_secret = TEST_SECRET
    workspace.save()
    url = f"{live_server.url}{workspace.webhook_path()}"
    line.set_channel(webhook_url=url)
    assert httpx.get(url, timeout=30).status_code == 405  # warm the URLconf up
    return workspace


def course(contact: Contact, value: str) -> None:
    Contact.objects.filter(pk=contact.pk).update(attributes={"コース": value})


def yearly_segment(workspace: Workspace) -> Segment:
    return save_segment(
        workspace,
        name="年間契約",
        definition={
            "version": 1,
            "where": {"kind": "attribute", "key": "コース", "op": "equals", "value": "年間契約"},
        },
        actor=None,
    )


def test_the_target_is_read_when_the_send_starts_not_when_the_draft_was_saved(
    wired: Workspace, line: Line
) -> None:
    workspace = wired
    stays, stops, starts, blocks = make_contacts(workspace, line, 4)
    for contact in (stays, stops, blocks):
        course(contact, "年間契約")
    course(starts, "月額")
    segment = yearly_segment(workspace)
    campaign = services.create_campaign(
        workspace,
        name="spring",
        messages=TEXT,
        target={"include": [{"segment": segment.pk}]},
        actor=None,
    )
    # After the draft is saved: one starts matching, one stops, one blocks the account on LINE.
    course(starts, "年間契約")
    course(stops, "月額")
    blocked = httpx.post(f"{line.channel}/friends/{blocks.line_user_id}/block", timeout=10)
    assert blocked.status_code == 200, blocked.text
    run_tasks()  # the webhook's processing
    assert Contact.objects.get(pk=blocks.pk).line_status == LineStatus.BLOCKED

    delivery = services.send_campaign(campaign, actor=None)
    run_tasks()  # the send itself, by the task the send enqueued

    delivery.refresh_from_db()
    campaign.refresh_from_db()
    assert (delivery.status, campaign.status) == (DeliveryStatus.DONE, CampaignStatus.SENT)
    assert line.copies() == {stays.line_user_id: 1, starts.line_user_id: 1}
    outcomes = {
        r.contact_id: (r.status, r.reason)
        for r in DeliveryRecipient.objects.filter(delivery=delivery)
    }
    assert outcomes == {
        stays.pk: (RecipientStatus.SENT, ""),
        starts.pk: (RecipientStatus.SENT, ""),
        blocks.pk: (RecipientStatus.EXCLUDED, "blocked"),
    }
    assert (delivery.total, delivery.excluded, delivery.sent) == (3, 1, 2)


def test_a_send_scheduled_for_18_00_in_the_workspace_zone_waits_for_it(
    workspace: Workspace, line: Line
) -> None:
    make_contacts(workspace, line, 3)
    campaign = services.create_campaign(
        workspace, name="evening", messages=TEXT, target={"all_friends": True}, actor=None
    )
    tomorrow = (datetime.now(ZoneInfo("Asia/Tokyo")) + timedelta(days=1)).date()
    # Naive on purpose: the service reads it in the workspace time zone.
    six_pm = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 18, 0)  # noqa: DTZ001

    delivery = services.send_campaign(campaign, actor=None, at=six_pm)

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED
    assert delivery.run_after == six_pm.replace(tzinfo=ZoneInfo("Asia/Tokyo"))
    assert delivery.run_after is not None and delivery.run_after.utcoffset() is not None
    run_tasks()  # the worker does not pick the task up before its time…
    assert engine.run_delivery(delivery.pk) == "not yet"  # …nor does the engine act if run early
    assert line.copies() == {}
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.QUEUED
    assert not DeliveryRecipient.objects.filter(delivery=delivery).exists()


def test_a_scheduled_send_goes_out_once_its_time_has_passed(
    workspace: Workspace, line: Line
) -> None:
    stays, leaves, joins = make_contacts(workspace, line, 3)
    course(stays, "年間契約")
    course(leaves, "年間契約")
    campaign = services.create_campaign(
        workspace,
        name="soon",
        messages=TEXT,
        target={"include": [{"segment": yearly_segment(workspace).pk}]},
        actor=None,
    )
    # A naive time is read in the workspace's zone (Asia/Tokyo): read as UTC it would be 9 h away.
    local_now = datetime.now(workspace.tzinfo).replace(tzinfo=None)
    delivery = services.send_campaign(campaign, actor=None, at=local_now + timedelta(seconds=5))
    # Between scheduling and the time, the segment changes: it is read when the send starts.
    course(joins, "年間契約")
    course(leaves, "月額")

    run_tasks()
    assert delivery.run_after is not None
    assert datetime.now(ZoneInfo("UTC")) < delivery.run_after  # the early run really was early
    assert line.copies() == {}
    time.sleep(max(0.0, (delivery.run_after - datetime.now(ZoneInfo("UTC"))).total_seconds()))
    time.sleep(0.2)
    run_tasks()

    delivery.refresh_from_db()
    campaign.refresh_from_db()
    assert (delivery.status, campaign.status) == (DeliveryStatus.DONE, CampaignStatus.SENT)
    assert line.copies() == {stays.line_user_id: 1, joins.line_user_id: 1}
