"""Audiences renamed, described and deleted from their page (issue 15.2); deleting is refused
while an unsent campaign or a segment uses the audience."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client

from otodoke.campaigns import services
from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.contacts.models import Contact
from otodoke.segments.models import Audience, AudienceMember, AudienceSource
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def audience(workspace: Workspace) -> Audience:
    group = Audience.objects.create(
        workspace=workspace, name="春の来店客", source=AudienceSource.MANUAL, size=1
    )
    contact = Contact.objects.create(workspace=workspace, name="花子")
    AudienceMember.objects.create(audience=group, contact=contact)
    return group


def url(group: Audience, what: str) -> str:
    return f"/w/salon/audiences/{group.pk}/{what}/"


def test_an_audience_is_renamed_and_described(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    group = audience(workspace)
    operator = client_as(Role.OPERATOR)
    response = operator.post(
        url(group, "rename"),
        {"name": "春の来店客 (3月)", "description": "3月の来店者"},
        follow=True,
    )

    page = response.content.decode()
    assert "オーディエンスを保存しました" in page and "3月の来店者" in page
    group.refresh_from_db()
    assert group.name == "春の来店客 (3月)" and group.description == "3月の来店者"
    refused = operator.post(url(group, "rename"), {"name": ""}, follow=True)
    assert "オーディエンスの名前を入力してください" in refused.content.decode()
    group.refresh_from_db()
    assert group.name == "春の来店客 (3月)"


def test_an_unused_audience_is_deleted_after_a_confirmation_naming_its_size(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    group = audience(workspace)
    owner = client_as(Role.OWNER)
    page = owner.get(f"/w/salon/audiences/{group.pk}/").content.decode()
    assert "オーディエンス「春の来店客」(1 人) を削除しますか?" in page

    response = owner.post(url(group, "delete"), follow=True)
    assert response.redirect_chain[-1][0] == "/w/salon/audiences/"
    assert not Audience.objects.filter(pk=group.pk).exists()
    assert Contact.objects.filter(name="花子").exists()  # the people stay


def test_deleting_is_refused_while_an_unsent_campaign_or_a_segment_uses_it(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    group = audience(workspace)
    campaign = services.create_campaign(
        workspace,
        name="春のDM",
        messages=[{"type": "text", "text": "春"}],
        target={"include": [{"audience": group.pk}]},
        actor=None,
    )
    where = {"kind": "in_audience", "audience_id": group.pk}
    save_segment(workspace, name="春の客", definition={"version": 1, "where": where}, actor=None)
    owner = client_as(Role.OWNER)

    page = owner.post(url(group, "delete"), follow=True).content.decode()
    assert "キャンペーン「春のDM」" in page and "「春の客」" in page
    assert Audience.objects.filter(pk=group.pk).exists()

    # A sent campaign no longer holds it; the segment still does.
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    page = owner.post(url(group, "delete"), follow=True).content.decode()
    assert "キャンペーン「春のDM」" not in page and "「春の客」" in page
    assert Audience.objects.filter(pk=group.pk).exists()


def test_viewers_cannot_rename_or_delete(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    group = audience(workspace)
    viewer = client_as(Role.VIEWER)
    assert viewer.post(url(group, "rename"), {"name": "x"}).status_code == 403
    assert viewer.post(url(group, "delete")).status_code == 403
    assert Audience.objects.filter(pk=group.pk, name="春の来店客").exists()
