"""The engine against the emulator over real HTTP: exactly once, only the frozen recipients."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from otodoke.campaigns import engine, services
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
from otodoke.contacts.models import LineStatus
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_each_recipient_gets_one_copy_in_batches(workspace: Workspace, line: Line) -> None:
    contacts = make_contacts(workspace, line, 35)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.DONE

    copies = line.copies()
    assert {c.line_user_id: 1 for c in contacts} == copies
    delivery.refresh_from_db()
    campaign.refresh_from_db()
    assert (delivery.sent, delivery.progress, campaign.status) == (35, 100.0, CampaignStatus.SENT)
    assert Batch.objects.filter(delivery=delivery, endpoint="multicast").count() == 4
    assert all(b.request_id for b in Batch.objects.filter(delivery=delivery))


def test_blocked_unconsenting_and_unlinked_contacts_receive_nothing(
    workspace: Workspace, line: Line
) -> None:
    ok = make_contacts(workspace, line, 3)
    blocked = make_contacts(workspace, line, 2, status=LineStatus.BLOCKED)
    no_consent = make_contacts(workspace, line, 2, consent=False)
    make_contacts(workspace, line, 1, with_line_id=False)
    excluded = make_contacts(workspace, line, 2)
    target = {"all_friends": True, "exclude": [{"contacts": [c.pk for c in excluded]}]}
    _, delivery = send_all(workspace, target=target)

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert set(line.copies()) == {c.line_user_id for c in ok}
    reasons = dict(
        DeliveryRecipient.objects.filter(
            delivery=delivery, status=RecipientStatus.EXCLUDED
        ).values_list("contact_id", "reason")
    )
    assert sorted(reasons.values()) == sorted(
        ["blocked"] * 2 + ["no_consent"] * 2 + ["no_line_identity"] + ["excluded_by_target"] * 2
    )
    delivery.refresh_from_db()
    assert (delivery.total, delivery.excluded, delivery.sent) == (10, 7, 3)
    assert {b.endpoint for b in Batch.objects.filter(delivery=delivery)} == {"multicast"}
    assert blocked and no_consent


def test_all_friends_without_exclusions_goes_out_as_one_broadcast(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 12)
    _, delivery = send_all(workspace)

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert [b.endpoint for b in Batch.objects.filter(delivery=delivery)] == ["broadcast"]
    assert line.copies() == {c.line_user_id: 1 for c in contacts}


def test_personalised_message_shows_each_name_or_the_default(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 4, names=["山田", "佐藤", "", ""])
    messages = [{"type": "text", "text": '{{ name | default("お客様") }}さん、こんにちは'}]
    _, delivery = send_all(workspace, messages=messages)

    assert run(delivery.pk) == DeliveryStatus.DONE

    texts = {
        c.line_user_id: line.received(str(c.line_user_id))[0]["messages"][0]["text"]
        for c in contacts
    }
    assert texts == {
        contacts[0].line_user_id: "山田さん、こんにちは",
        contacts[1].line_user_id: "佐藤さん、こんにちは",
        contacts[2].line_user_id: "お客様さん、こんにちは",
        contacts[3].line_user_id: "お客様さん、こんにちは",
    }
    endpoints = sorted(
        Batch.objects.filter(delivery=delivery).values_list("endpoint", "recipient_count")
    )
    # The two default renders are identical, so they go together by multicast.
    assert endpoints == [("multicast", 2), ("push", 1), ("push", 1)]


@pytest.mark.parametrize(
    "fault", ["500", "timeout-before", "timeout-after", "drop-before", "drop-after"]
)
def test_a_lost_or_failed_request_is_retried_with_its_key_and_never_duplicated(
    workspace: Workspace, line: Line, fault: str
) -> None:
    contacts = make_contacts(workspace, line, 20)
    line.server.config.faults.timeout_seconds = 1.0
    line.script("none", "none", fault, fault)  # quota and consumption go through
    _, delivery = send_all(workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]})

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {c.line_user_id: 1 for c in contacts}
    batches = Batch.objects.filter(delivery=delivery)
    assert sum(b.attempts for b in batches) >= 3
    if fault.endswith("after"):
        # LINE had accepted the first attempt: the retry was answered 409 and counted as sent.
        assert any(b.accepted_request_id for b in batches)


def test_ten_percent_of_requests_failing_still_delivers_exactly_once(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 300)
    line.server.config.faults.timeout_seconds = 1.0
    line.faults(error_500=0.04, timeout=0.03, drop=0.03, error_429=0.02)
    _, delivery = send_all(workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]})

    assert run(delivery.pk) == DeliveryStatus.DONE

    copies = line.copies()
    assert len(copies) == 300 and set(copies.values()) == {1}
    assert Batch.objects.filter(delivery=delivery, attempts__gt=1).exists()


def test_rate_limit_429_waits_and_resumes(workspace: Workspace, line: Line) -> None:
    contacts = make_contacts(workspace, line, 40)
    line.script("none", "none", "429", "429", "429", "none", "429")
    _, delivery = send_all(workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]})

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {c.line_user_id: 1 for c in contacts}


def test_monthly_quota_429_pauses_the_campaign_with_the_reason(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 30)
    line.set_channel(quota_type="limited", quota_value=1000)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    delivery.refresh_from_db()
    engine._freeze(delivery, engine_conf())
    assert engine.check_quota(delivery)  # the pre-check passes: LINE reports room for 1,000
    engine.set_status(delivery, DeliveryStatus.SENDING, expected=(DeliveryStatus.READY,))
    line.set_channel(quota_value=15)  # …then another tool uses most of it

    status = run(delivery.pk)

    campaign.refresh_from_db()
    assert status == DeliveryStatus.PAUSED and campaign.status == CampaignStatus.PAUSED
    assert "monthly" in campaign.status_reason
    copies = line.copies()
    assert len(copies) <= 15 and set(copies.values()) <= {1}


def test_a_send_over_the_quota_stops_until_someone_confirms(
    workspace: Workspace, line: Line, owner: User
) -> None:
    contacts = make_contacts(workspace, line, 12)
    line.set_channel(quota_type="limited", quota_value=5)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.PAUSED
    assert line.copies() == {}
    delivery.refresh_from_db()
    assert delivery.quota["exceeds_quota"] and delivery.quota["remaining"] == 5

    # Confirming sends up to the limit: 5 go out, the other 7 are recorded as over it.
    services.confirm_over_quota(campaign, actor=owner)
    assert run(delivery.pk) == DeliveryStatus.DONE
    assert sorted(line.copies().values()) == [1] * 5
    over = DeliveryRecipient.objects.filter(delivery=delivery, reason="over_month_limit")
    assert over.count() == 7


def test_a_send_beyond_the_plans_free_messages_stops_until_someone_confirms(
    workspace: Workspace, line: Line, owner: User
) -> None:
    # The workspace says コミュニケーションプラン (200 free messages, no extra messages) while
    # LINE sets no monthly limit: the plan, not LINE, is what stops this send.
    workspace.plan = "communication"
    workspace.save()
    contacts = make_contacts(workspace, line, 201)
    line.set_channel(quota_type="none")
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )

    assert run(delivery.pk) == DeliveryStatus.PAUSED
    assert line.copies() == {}
    delivery.refresh_from_db()
    assert delivery.quota["allowed_by_plan"] is False and delivery.quota["exceeds_quota"]
    assert delivery.quota["remaining"] == 200 and delivery.quota["limit_source"] == "plan"
    assert "plan" in delivery.reason and "201" in delivery.reason

    # The plan cannot go past its 200 free messages: confirming sends 200, one stays unsent.
    services.confirm_over_quota(campaign, actor=owner)
    assert run(delivery.pk) == DeliveryStatus.DONE
    assert sorted(line.copies().values()) == [1] * 200
    over = DeliveryRecipient.objects.filter(delivery=delivery, reason="over_month_limit")
    assert over.count() == 1


def test_rejected_token_fails_the_campaign(workspace: Workspace, line: Line) -> None:
    make_contacts(workspace, line, 3)
    workspace.channel_access_token = "wrong"
    workspace.save()
    campaign, delivery = send_all(workspace)

    assert run(delivery.pk) == DeliveryStatus.FAILED
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED and "401" in campaign.status_reason


def test_a_batch_past_the_retry_window_is_never_resent(workspace: Workspace, line: Line) -> None:
    contacts = make_contacts(workspace, line, 15)
    _, delivery = send_all(workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]})
    engine._freeze(delivery, engine_conf())
    # The first batch was attempted 25 hours ago and we never learnt the outcome.
    Batch.objects.filter(delivery=delivery, number=0).update(
        attempts=1,
        uncertain_since=timezone.now() - timedelta(hours=25),
        first_attempt_at=timezone.now() - timedelta(hours=25),
    )

    # Some recipients have no known outcome: the send is not reported as fully sent.
    assert run(delivery.pk) == DeliveryStatus.PARTIAL

    first = Batch.objects.get(delivery=delivery, number=0)
    assert first.status == BatchStatus.UNKNOWN
    assert len(line.copies()) == 5
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.unknown) == (5, 10)
