"""Who may push a send past this month's quota."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from otodoke.campaigns import services
from otodoke.campaigns.models import (
    Batch,
    CampaignStatus,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
)
from otodoke.campaigns.tests.conftest import TEXT, Line, make_contacts, member, run, send_all
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.django_db


def test_only_someone_with_the_approve_permission_can_confirm_an_over_quota_send(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 12)
    line.set_channel(quota_type="limited", quota_value=5)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    assert run(delivery.pk) == DeliveryStatus.PAUSED
    operator: User = member(workspace, "operator", Role.OPERATOR)  # may send, not approve

    with pytest.raises(PermissionDenied):
        services.confirm_over_quota(campaign, actor=operator)

    delivery.refresh_from_db()
    campaign.refresh_from_db()
    assert delivery.quota_confirmed_by_id is None
    assert (delivery.status, campaign.status) == (DeliveryStatus.PAUSED, CampaignStatus.PAUSED)
    assert not AuditLog.objects.filter(action=AuditAction.QUOTA_OVERRIDE).exists()
    # Running the task again (a watchdog, a second worker) still sends nothing.
    assert run(delivery.pk) == DeliveryStatus.PAUSED
    assert line.copies() == {}

    manager = member(workspace, "manager", Role.MANAGER)
    services.confirm_over_quota(campaign, actor=manager)
    confirmed_by = Delivery.objects.values_list("quota_confirmed_by", flat=True).get(pk=delivery.pk)
    assert confirmed_by == manager.pk
    assert AuditLog.objects.filter(action=AuditAction.QUOTA_OVERRIDE).count() == 1


def test_quota_answers_are_read_by_lines_spec() -> None:
    from otodoke.campaigns.quota import parse_quota

    unknown_cap = parse_quota({"type": "limited"}, {"totalUsage": 7})
    assert (unknown_cap.limited, unknown_cap.limit, unknown_cap.remaining) == (True, None, None)
    assert unknown_cap.limit_unknown and unknown_cap.used == 7
    none = parse_quota({"type": "none"}, {"totalUsage": 3})
    assert (none.limited, none.limit, none.limit_unknown, none.used) == (False, None, False, 3)
    capped = parse_quota({"type": "limited", "value": 200}, {"totalUsage": 150})
    assert (capped.limit, capped.remaining, capped.percent) == (200, 50, 75)
    assert parse_quota({"type": "limited", "value": 10}, {}).used == 0


def test_a_send_goes_out_when_line_answers_limited_without_value(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 3)
    line.set_channel(quota_type="limited", quota_value=100, quota_value_shown=False)
    _, delivery = send_all(workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]})

    assert run(delivery.pk) == DeliveryStatus.DONE  # the task once died on KeyError: 'value'
    delivery.refresh_from_db()
    assert delivery.sent == 3
    assert delivery.quota["limited"] is True and delivery.quota["limit"] is None
    assert len(line.copies()) == 3


@pytest.mark.parametrize(
    ("messages", "target_all", "endpoints"),
    [
        # Personalised: one push per recipient; the pushes past the limit are dropped.
        ([{"type": "text", "text": "{{ name }}様、春のお知らせ"}], False, {"push"}),
        # All friends is a broadcast, which cannot be cut: what fits goes out by multicast.
        (TEXT, True, {"multicast"}),
    ],
    ids=["personalised", "broadcast"],
)
def test_confirming_sends_exactly_up_to_the_limit_and_records_the_rest(
    workspace: Workspace,
    line: Line,
    owner: User,
    messages: list[dict[str, str]],
    target_all: bool,
    endpoints: set[str],
) -> None:
    contacts = make_contacts(workspace, line, 25)
    line.set_channel(quota_type="limited", quota_value=23)
    target = None if target_all else {"include": [{"contacts": [c.pk for c in contacts]}]}
    campaign, delivery = send_all(workspace, messages=messages, target=target)
    assert run(delivery.pk) == DeliveryStatus.PAUSED

    services.confirm_over_quota(campaign, actor=owner)

    assert run(delivery.pk) == DeliveryStatus.DONE
    copies = line.copies()
    assert len(copies) == 23 and set(copies.values()) == {1}
    delivery.refresh_from_db()
    assert (delivery.sent, delivery.excluded, delivery.eligible) == (23, 2, 23)
    over = DeliveryRecipient.objects.filter(delivery=delivery, reason="over_month_limit")
    assert not ({r.line_user_id for r in over} & set(copies))
    assert set(Batch.objects.filter(delivery=delivery).values_list("endpoint", flat=True)) == (
        endpoints
    )
    assert delivery.method == "+".join(sorted(endpoints))
