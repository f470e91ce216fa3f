"""Who may push a send past this month's quota."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from otodoke.campaigns import services
from otodoke.campaigns.models import CampaignStatus, Delivery, DeliveryStatus
from otodoke.campaigns.tests.conftest import Line, make_contacts, member
from otodoke.campaigns.tests.test_engine import run, send_all
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
