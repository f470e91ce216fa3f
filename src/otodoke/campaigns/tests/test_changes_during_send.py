"""Item 26: what changes between the freeze and the send. Consent withdrawn or a block after
the recipients were frozen stops the message for them (re-checked when their batch is claimed),
and a friend who blocked before LINE took their batch is 「配信中にブロック」, not `sent`.
Real HTTP to the emulator; blocks arrive as LINE's signed webhooks."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth.models import User
from django.test import Client

from otodoke.campaigns import claims, engine, services
from otodoke.campaigns.conf import engine_conf
from otodoke.campaigns.dispatch import run_dispatch
from otodoke.campaigns.models import (
    Batch,
    BatchStatus,
    CampaignStatus,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
    RecipientStatus,
)
from otodoke.campaigns.tests.conftest import TEXT, Line, make_contacts
from otodoke.campaigns.tests.test_send_time import webhooks_at_once, wired  # noqa: F401
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line import services as line_services
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def frozen_send(workspace: Workspace, contacts: list[Contact]) -> Delivery:
    """A live send to these contacts, frozen and ready, its dispatch not yet run."""
    campaign = services.create_campaign(
        workspace,
        name="spring",
        messages=TEXT,
        target={"include": [{"contacts": [c.pk for c in contacts]}]},
        actor=None,
    )
    delivery = services.send_campaign(campaign, actor=None)
    engine._freeze(delivery, engine_conf())
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY
    assert delivery.eligible == len(contacts)
    return delivery


def block_on_line(line: Line, contact: Contact) -> None:
    """The friend blocks the account on their phone; LINE posts the unfollow webhook."""
    answer = httpx.post(f"{line.channel}/friends/{contact.line_user_id}/block", timeout=10)
    assert answer.status_code == 200, answer.text


def outcomes(delivery: Delivery) -> dict[int, tuple[str, str]]:
    rows = DeliveryRecipient.objects.filter(delivery=delivery)
    return {r.contact_id: (r.status, r.reason) for r in rows}


def test_consent_withdrawn_or_a_block_after_the_freeze_stops_the_message(
    wired: Workspace,  # noqa: F811
    line: Line,
) -> None:
    stays, withdraws, blocks, also_stays = make_contacts(wired, line, 4)
    delivery = frozen_send(wired, [stays, withdraws, blocks, also_stays])

    Contact.objects.filter(pk=withdraws.pk).update(marketing_consent=False)
    block_on_line(line, blocks)
    line_services.drain_pending(wired.pk)  # the unfollow webhook is processed before the claim
    assert Contact.objects.get(pk=blocks.pk).line_status == LineStatus.BLOCKED

    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {stays.line_user_id: 1, also_stays.line_user_id: 1}
    assert outcomes(delivery) == {
        stays.pk: (RecipientStatus.SENT, ""),
        also_stays.pk: (RecipientStatus.SENT, ""),
        withdraws.pk: (RecipientStatus.EXCLUDED, "consent_withdrawn"),
        blocks.pk: (RecipientStatus.EXCLUDED, "left_before_batch"),
    }
    delivery.refresh_from_db()
    assert (delivery.total, delivery.eligible, delivery.excluded, delivery.sent) == (4, 2, 2, 2)
    assert Batch.objects.get(delivery=delivery).recipient_count == 2
    assert delivery.campaign.status == CampaignStatus.SENT


def test_a_batch_nobody_is_left_in_is_cancelled_and_never_requested(
    wired: Workspace,  # noqa: F811
    line: Line,
) -> None:
    contacts = make_contacts(wired, line, 12)  # batches of 10 (engine_settings): 10 + 2
    delivery = frozen_send(wired, contacts)
    last_two = contacts[10:]
    Contact.objects.filter(pk__in=[c.pk for c in last_two]).update(marketing_consent=False)

    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {c.line_user_id: 1 for c in contacts[:10]}
    batches = dict(Batch.objects.filter(delivery=delivery).values_list("number", "status"))
    assert batches == {0: BatchStatus.SENT, 1: BatchStatus.CANCELLED}
    requests = line.responses("/v2/bot/message/multicast")["requests"]
    assert len(requests) == 1
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.excluded, delivery.eligible) == (10, 2, 10)


def test_a_block_whose_webhook_arrives_after_the_send_is_blocked_during_the_send_not_sent(
    wired: Workspace,  # noqa: F811
    line: Line,
) -> None:
    reached, blocked_first, blocked_after = make_contacts(wired, line, 3)
    delivery = frozen_send(wired, [reached, blocked_first, blocked_after])
    # The friend blocks before the batch goes out, but the webhook waits (behind the send):
    # Otodoke still thinks they follow, and LINE accepts their ID and delivers nothing.
    block_on_line(line, blocked_first)
    assert Contact.objects.get(pk=blocked_first.pk).line_status == LineStatus.FOLLOWING

    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE
    delivery.refresh_from_db()
    assert delivery.sent == 3  # as far as the send could know
    block_on_line(line, blocked_after)  # after the message reached them
    line_services.drain_pending(wired.pk)

    assert line.copies() == {reached.line_user_id: 1, blocked_after.line_user_id: 1}
    assert line.received(str(blocked_first.line_user_id)) == []
    got = outcomes(delivery)
    assert got[reached.pk][0] == RecipientStatus.SENT
    assert got[blocked_after.pk][0] == RecipientStatus.SENT  # it reached them before the block
    assert got[blocked_first.pk][0] == RecipientStatus.BLOCKED
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.blocked, delivery.status) == (2, 1, DeliveryStatus.DONE)
    # The campaign's page says so, in Japanese: reach is not overstated.
    staff = Client(HTTP_ACCEPT_LANGUAGE="ja")
    staff.force_login(User.objects.get(username="owner"))
    page = staff.get(f"/w/{wired.slug}/campaigns/{delivery.campaign_id}/").content.decode()
    assert re.search(r'data-testid="count-sent">2<', page)
    assert re.search(r'data-testid="count-blocked">1<', page)
    assert "配信中にブロック" in page
    assert "LINE が配信を受け付ける前にブロック" in page


def test_an_unfollow_recorded_while_the_batch_was_in_flight_is_reconciled_at_the_finish(
    wired: Workspace,  # noqa: F811
    line: Line,
) -> None:
    reached, blocked = make_contacts(wired, line, 2)
    delivery = frozen_send(wired, [reached, blocked])
    conf = engine_conf()
    assert engine.check_quota(delivery)
    engine.set_status(delivery, DeliveryStatus.SENDING, expected=(DeliveryStatus.READY,))
    assert run_dispatch(delivery, conf) == "drained"
    batch = Batch.objects.get(delivery=delivery)
    assert batch.sent_at is not None and delivery.frozen_at is not None
    # Recorded while the request was out: the recipient rows were still pending, so only the
    # finish can tell (the unfollow lies between the freeze and LINE taking the batch).
    Contact.objects.filter(pk=blocked.pk).update(
        line_status=LineStatus.BLOCKED,
        line_unfollowed_at=batch.sent_at - (batch.sent_at - delivery.frozen_at) / 2,
    )
    Contact.objects.filter(pk=reached.pk).update(
        line_status=LineStatus.BLOCKED, line_unfollowed_at=batch.sent_at + timedelta(seconds=1)
    )

    assert engine._finish_if_done(delivery)

    got = outcomes(delivery)
    assert (got[reached.pk][0], got[blocked.pk][0]) == (
        RecipientStatus.SENT,
        RecipientStatus.BLOCKED,
    )
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.blocked, delivery.status) == (1, 1, DeliveryStatus.DONE)


def test_a_batch_that_may_already_be_at_line_keeps_its_recipients_exactly_once(
    wired: Workspace,  # noqa: F811
    line: Line,
) -> None:
    stays, withdraws = make_contacts(wired, line, 2)
    delivery = frozen_send(wired, [stays, withdraws])
    assert engine.check_quota(delivery)
    engine.set_status(delivery, DeliveryStatus.SENDING, expected=(DeliveryStatus.READY,))
    # A worker claimed the batch and stamped its attempt, then died before any answer: LINE
    # may have taken it, so the retry must send the same `to` under the same retry key.
    jobs = claims.claim(delivery.pk, limit=10, lease_seconds=60, window_seconds=86400)
    claims.mark_attempting(jobs)
    claims.release(jobs)
    Contact.objects.filter(pk=withdraws.pk).update(marketing_consent=False)

    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {stays.line_user_id: 1, withdraws.line_user_id: 1}
    assert {s for s, _ in outcomes(delivery).values()} == {RecipientStatus.SENT}
    batch = Batch.objects.get(delivery=delivery)
    assert (batch.recipient_count, batch.attempts) == (2, 2)


def test_a_broadcast_someone_withdrew_consent_from_goes_out_as_multicast_without_them(
    wired: Workspace,  # noqa: F811
    line: Line,
) -> None:
    stays, withdraws, also_stays = make_contacts(wired, line, 3)
    campaign = services.create_campaign(
        wired, name="all", messages=TEXT, target={"all_friends": True}, actor=None
    )
    delivery = services.send_campaign(campaign, actor=None)
    engine._freeze(delivery, engine_conf())
    delivery.refresh_from_db()
    assert delivery.method == "broadcast"  # everybody could be reached when it was frozen
    Contact.objects.filter(pk=withdraws.pk).update(marketing_consent=False)

    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {stays.line_user_id: 1, also_stays.line_user_id: 1}
    assert line.responses("/v2/bot/message/broadcast")["requests"] == []
    batches = list(
        Batch.objects.filter(delivery=delivery).order_by("number").values_list("endpoint", "status")
    )
    assert batches == [("broadcast", BatchStatus.CANCELLED), ("multicast", BatchStatus.SENT)]
    assert outcomes(delivery)[withdraws.pk] == (RecipientStatus.EXCLUDED, "consent_withdrawn")
    delivery.refresh_from_db()
    assert (delivery.method, delivery.sent, delivery.excluded, delivery.eligible) == (
        "multicast",
        2,
        1,
        2,
    )
