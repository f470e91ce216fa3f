"""LINE's client errors in the middle of a send: a 400 fails one batch, 401/403 stop the send."""

from __future__ import annotations

from typing import Any

import pytest

from otodoke.campaigns import engine
from otodoke.campaigns.conf import engine_conf
from otodoke.campaigns.models import (
    Batch,
    BatchStatus,
    CampaignStatus,
    DeliveryRecipient,
    DeliveryStatus,
    RecipientStatus,
)
from otodoke.campaigns.tests.conftest import Line, make_contacts, run, send_all
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

MULTICAST = "/v2/bot/message/multicast"


def test_a_400_fails_that_batch_with_lines_details_and_the_others_are_sent(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 50)
    line.script("none", "none", "400")  # quota and consumption pass; the first send gets 400
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.PARTIAL

    [failed] = Batch.objects.filter(delivery=delivery, status=BatchStatus.FAILED)
    assert failed.http_status == 400 and failed.attempts == 1  # a 400 is never retried
    assert failed.error_details == [
        {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
    ]
    assert "The request body has 1 error(s)" in failed.last_error
    assert failed.request_id  # LINE's X-Line-Request-Id of the refused request
    assert Batch.objects.filter(delivery=delivery, status=BatchStatus.SENT).count() == 4

    outcomes = dict(
        DeliveryRecipient.objects.filter(delivery=delivery).values_list("line_user_id", "status")
    )
    failed_ids = {u for u, s in outcomes.items() if s == RecipientStatus.FAILED}
    reasons = set(
        DeliveryRecipient.objects.filter(delivery=delivery, status=RecipientStatus.FAILED)
        .values_list("reason", flat=True)
        .distinct()
    )
    assert len(failed_ids) == 10
    [reason] = reasons
    assert "LINE 400" in reason and "messages[0].text" in reason
    copies = line.copies()
    assert copies == {c.line_user_id: 1 for c in contacts if c.line_user_id not in failed_ids}
    delivery.refresh_from_db()
    campaign.refresh_from_db()
    assert (delivery.sent, delivery.failed, delivery.progress) == (40, 10, 100.0)
    assert campaign.status == CampaignStatus.PARTIAL
    assert "40 of 50" in campaign.status_reason and "messages[0].text" in campaign.status_reason


@pytest.fixture
def paced(engine_settings: Any) -> Any:
    # About one multicast every 0.2 s, far slower than results are written (every 0.05 s): a
    # stop is recorded before the next request could be granted.
    engine_settings.OTODOKE_LINE_RATES = {"multicast": 5}
    engine_settings.OTODOKE_SEND_CONCURRENCY = 2
    return engine_settings


@pytest.mark.parametrize("status", ["401", "403"])
def test_a_rejected_token_mid_send_fails_the_campaign_and_sends_nothing_more(
    workspace: Workspace, line: Line, paced: Any, status: str
) -> None:
    contacts = make_contacts(workspace, line, 100)
    # Quota and consumption pass (the pre-send check is fine), one batch goes out, then LINE
    # refuses the token.
    line.script("none", "none", "none", status)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.FAILED

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED
    assert "LINE refused the channel access token" in campaign.status_reason
    assert f"LINE {status}" in campaign.status_reason
    sends = line.responses(MULTICAST)["requests"]
    refused = next(i for i, r in enumerate(sends) if r["status"] == status)
    # Only a request already granted when the refusal arrived may follow it.
    assert len(sends) - refused - 1 <= 1
    copies = line.copies()
    assert set(copies.values()) == {1} and len(copies) <= 30

    # The failed send stays stopped: running the task again sends nothing.
    assert engine.run_delivery(delivery.pk) == DeliveryStatus.FAILED
    assert line.copies() == copies
    assert len(line.responses(MULTICAST)["requests"]) == len(sends)
    unsent = Batch.objects.filter(delivery=delivery).exclude(status=BatchStatus.SENT)
    assert unsent.count() >= 7


def test_a_token_revoked_after_the_quota_check_fails_the_campaign_before_any_copy(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 30)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    delivery.refresh_from_db()
    engine._freeze(delivery, engine_conf())
    assert engine.check_quota(delivery)  # the token still works here
    engine.set_status(delivery, DeliveryStatus.SENDING, expected=(DeliveryStatus.READY,))
    line.set_channel(access_token="reissued-token")  # someone reissued it in the console

    assert run(delivery.pk) == DeliveryStatus.FAILED

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED
    assert "LINE 401" in campaign.status_reason and "invalid token" in campaign.status_reason
    assert line.copies() == {}
    assert (
        DeliveryRecipient.objects.filter(delivery=delivery, status=RecipientStatus.SENT).count()
        == 0
    )
