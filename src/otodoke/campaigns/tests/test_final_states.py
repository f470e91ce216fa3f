"""A finished send says what happened: sent, partly failed or failed, and by which method."""

from __future__ import annotations

import pytest
from django.utils import translation

from otodoke.campaigns.models import (
    Batch,
    BatchStatus,
    CampaignStatus,
    DeliveryStatus,
    Endpoint,
)
from otodoke.campaigns.tests.conftest import Line, make_contacts, run, send_all
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_a_send_where_line_refused_every_batch_is_failed_not_sent(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 30)  # three multicasts of ten
    line.script("none", "none", "400", "400", "400")  # quota checks pass, every send gets 400
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.FAILED

    delivery.refresh_from_db()
    campaign.refresh_from_db()
    assert (delivery.sent, delivery.failed) == (0, 30)
    assert campaign.status == CampaignStatus.FAILED
    assert "all 30 recipients failed" in campaign.status_reason
    assert "messages[0].text" in campaign.status_reason  # LINE's own words, not just a count
    assert Batch.objects.filter(delivery=delivery, status=BatchStatus.FAILED).count() == 3
    assert line.copies() == {}
    with translation.override("ja"):
        assert campaign.get_status_display() == "失敗"


def test_a_send_where_some_batches_failed_is_partly_failed(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 20)
    line.script("none", "none", "400")  # the first multicast is refused, the second goes out
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.PARTIAL

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PARTIAL
    assert "10 of 20" in campaign.status_reason
    assert len(line.copies()) == 10
    with translation.override("ja"):
        assert campaign.get_status_display() == "一部失敗"


def test_a_send_with_no_failures_is_sent(workspace: Workspace, line: Line) -> None:
    contacts = make_contacts(workspace, line, 12)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.DONE
    campaign.refresh_from_db()
    delivery.refresh_from_db()
    assert (campaign.status, campaign.status_reason) == (CampaignStatus.SENT, "")
    assert delivery.method == "multicast"


def test_a_one_recipient_send_reports_push_as_its_method(workspace: Workspace, line: Line) -> None:
    [contact] = make_contacts(workspace, line, 1)
    _, delivery = send_all(workspace, target={"include": [{"contacts": [contact.pk]}]})

    assert run(delivery.pk) == DeliveryStatus.DONE

    delivery.refresh_from_db()
    assert delivery.method == "push"
    [batch] = Batch.objects.filter(delivery=delivery)
    assert batch.endpoint == Endpoint.PUSH
    answers = line.responses()
    paths = {entry["path"] for entry in answers["requests"]}
    assert "/v2/bot/message/push" in paths and "/v2/bot/message/multicast" not in paths
    assert line.copies() == {contact.line_user_id: 1}
