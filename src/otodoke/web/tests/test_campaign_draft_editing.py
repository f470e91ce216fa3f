"""A draft campaign is edited in place until it is sent (issue 15.2): the composer opens on
the draft, saving changes that campaign (no copy), an approval is withdrawn when the content
changes, and a scheduled, sending or sent campaign is refused with a clear message."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from otodoke.campaigns import services
from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.web.tests.test_campaigns import SHOP, compose_data, draft, tokyo_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

URL = "/w/salon/campaigns/"


def test_the_composer_opens_on_the_draft_and_saving_changes_it_in_place(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR], name="春のセール")
    segment = tokyo_segment(workspace)
    operator = client_as(Role.OPERATOR)
    detail = operator.get(f"{URL}{campaign.pk}/").content.decode()
    assert f"{URL}{campaign.pk}/edit/" in detail

    page = operator.get(f"{URL}{campaign.pk}/edit/").content.decode()
    assert "下書きの編集" in page and 'value="春のセール"' in page
    assert "{{ name }}様 " + SHOP in page

    data = compose_data(segment, name="春のセール (改)", **{"m0-text": "{{ name }}様、最終日です"})
    response = operator.post(f"{URL}{campaign.pk}/edit/", data, follow=True)

    assert response.redirect_chain[-1][0] == f"{URL}{campaign.pk}/"
    assert "下書きを保存しました" in response.content.decode()
    assert Campaign.objects.count() == 1
    campaign.refresh_from_db()
    assert campaign.name == "春のセール (改)"
    assert campaign.messages == [{"type": "text", "text": "{{ name }}様、最終日です"}]
    assert campaign.target == {"include": [{"segment": segment.pk}], "exclude": []}


def test_invalid_changes_leave_the_draft_as_it_was(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    data = compose_data(tokyo_segment(workspace), name="", **{"m0-text": "x" * 5001})
    response = client_as(Role.OPERATOR).post(f"{URL}{campaign.pk}/edit/", data)

    assert response.status_code == 400
    campaign.refresh_from_db()
    assert campaign.name == "春のセール" and campaign.target == {"all_friends": True}


def test_editing_keeps_chosen_contacts_the_composer_does_not_show(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR], target={"include": [{"contacts": [1, 2]}]})
    segment = tokyo_segment(workspace)
    response = client_as(Role.OPERATOR).post(f"{URL}{campaign.pk}/edit/", compose_data(segment))

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.target == {
        "include": [{"segment": segment.pk}, {"contacts": [1, 2]}],
        "exclude": [],
    }


def test_changing_an_approved_draft_withdraws_the_approval(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    services.approve_campaign(campaign, actor=members[Role.MANAGER])
    segment = tokyo_segment(workspace)
    client_as(Role.OPERATOR).post(f"{URL}{campaign.pk}/edit/", compose_data(segment))

    campaign.refresh_from_db()
    assert campaign.approved_at is None and campaign.approved_by is None


@pytest.mark.parametrize(
    "status", [CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.SENT]
)
def test_a_campaign_past_draft_is_refused(
    status: CampaignStatus,
    workspace: Workspace,
    members: dict[Role, User],
    client_as: Callable[[Role], Client],
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    Campaign.objects.filter(pk=campaign.pk).update(status=status, scheduled_at=timezone.now())
    operator = client_as(Role.OPERATOR)
    assert f"{URL}{campaign.pk}/edit/" not in operator.get(f"{URL}{campaign.pk}/").content.decode()

    response = operator.post(
        f"{URL}{campaign.pk}/edit/", compose_data(tokyo_segment(workspace)), follow=True
    )

    page = response.content.decode()
    assert "編集できません" in page and "コピー" in page
    campaign.refresh_from_db()
    assert campaign.name == "春のセール" and campaign.target == {"all_friends": True}


def test_the_service_refuses_a_draft_that_started_sending_meanwhile(
    workspace: Workspace, members: dict[Role, User]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
    with pytest.raises(services.CampaignStateError):
        services.update_draft(
            campaign,
            name="changed",
            messages=[{"type": "text", "text": "x"}],
            target={"all_friends": True},
            actor=members[Role.OPERATOR],
        )
    campaign.refresh_from_db()
    assert campaign.name == "春のセール"


def test_viewers_cannot_edit_a_draft(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    campaign = draft(workspace, members[Role.OPERATOR])
    viewer = client_as(Role.VIEWER)
    assert viewer.get(f"{URL}{campaign.pk}/edit/").status_code == 403
    assert viewer.post(f"{URL}{campaign.pk}/edit/", {"name": "x"}).status_code == 403
