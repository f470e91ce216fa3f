"""Resuming a paused send from the CLI (`otodoke campaign resume`) and the API (`…/resume`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from otodoke.api.services import create_token
from otodoke.campaigns import engine
from otodoke.campaigns.conf import engine_conf
from otodoke.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from otodoke.campaigns.tests.conftest import (
    Line,
    cli,
    cli_refused,
    make_contacts,
    member,
    run,
    send_all,
)
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.django_db


def paused_by_lines_monthly_limit(workspace: Workspace, line: Line) -> tuple[Campaign, Delivery]:
    """30 recipients, three multicasts; LINE's limit stops the send after the first."""
    contacts = make_contacts(workspace, line, 30)
    line.set_channel(quota_type="limited", quota_value=1000)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    engine._freeze(delivery, engine_conf())
    assert engine.check_quota(delivery)
    engine.set_status(delivery, DeliveryStatus.SENDING, expected=(DeliveryStatus.READY,))
    line.set_channel(quota_value=10)  # another tool used the rest of the month
    assert run(delivery.pk) == DeliveryStatus.PAUSED
    assert len(line.copies()) <= 10
    line.set_channel(quota_value=1000)  # next month, or a raised cap in OA Manager
    return campaign, delivery


def test_cli_resume_finishes_a_send_paused_by_lines_monthly_limit_exactly_once(
    workspace: Workspace, line: Line
) -> None:
    campaign, _ = paused_by_lines_monthly_limit(workspace, line)

    resumed = cli("resume", str(campaign.pk), "--inline")

    assert resumed["status"] == "sent" and resumed["live"]["sent"] == 30
    assert sorted(line.copies().values()) == [1] * 30  # the same retry keys: no duplicate


def test_cli_resume_of_a_send_waiting_for_confirmation_names_what_it_needs(
    workspace: Workspace, line: Line, owner: Any
) -> None:
    contacts = make_contacts(workspace, line, 12)
    line.set_channel(quota_type="limited", quota_value=5)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    assert run(delivery.pk) == DeliveryStatus.PAUSED

    assert cli_refused("resume", str(campaign.pk))["code"] == "confirmation_required"
    assert cli_refused("resume", str(campaign.pk), "--confirm")["code"] == "forbidden"
    member(workspace, "operator", Role.OPERATOR)  # may send, not approve
    refusal = cli_refused("resume", str(campaign.pk), "--confirm", "--as", "operator")
    assert refusal["code"] == "forbidden"
    assert not AuditLog.objects.filter(action=AuditAction.QUOTA_OVERRIDE).exists()
    line.set_channel(quota_value=100)  # the owner raised LINE's cap, then confirms the cost

    resumed = cli("resume", str(campaign.pk), "--confirm", "--as", "owner", "--inline")

    assert resumed["status"] == "sent" and resumed["live"]["sent"] == 12
    assert sorted(line.copies().values()) == [1] * 12
    override = AuditLog.objects.get(action=AuditAction.QUOTA_OVERRIDE)
    assert override.actor_id == owner.pk


def test_cli_resume_of_a_campaign_that_is_not_paused_is_refused(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 2)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    assert run(delivery.pk) == DeliveryStatus.DONE
    assert cli_refused("resume", str(campaign.pk))["code"] == "invalid_state"


def api_post(workspace: Workspace, path: str, *scopes: str) -> Any:
    token = create_token(workspace, name="script", scopes=scopes).plaintext
    return Client().post(
        path, "{}", content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def test_api_resume_continues_a_paused_send_once_and_only_once(
    workspace: Workspace, line: Line
) -> None:
    campaign, delivery = paused_by_lines_monthly_limit(workspace, line)
    path = f"/api/v1/campaigns/{campaign.pk}/resume"

    assert api_post(workspace, path, "read").status_code == 403  # needs the send scope
    answer = api_post(workspace, path, "read", "send")

    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == "sending"
    assert run(delivery.pk) == DeliveryStatus.DONE
    assert sorted(line.copies().values()) == [1] * 30
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT

    again = api_post(workspace, path, "read", "send")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"


def test_api_resume_of_a_send_waiting_for_confirmation_answers_409(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 12)
    line.set_channel(quota_type="limited", quota_value=5)
    campaign, delivery = send_all(
        workspace, target={"include": [{"contacts": [c.pk for c in contacts]}]}
    )
    assert run(delivery.pk) == DeliveryStatus.PAUSED

    answer = api_post(workspace, f"/api/v1/campaigns/{campaign.pk}/resume", "read", "send")

    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "confirmation_required" and "承認権限" in error["message"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PAUSED and line.copies() == {}
