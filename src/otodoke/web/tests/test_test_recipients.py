"""Saved test recipients (issue 12.9): staff's own LINE accounts are the default of a test
send, found by searching, told apart by customer number and masked phone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from otodoke.campaigns import services
from otodoke.campaigns.models import Campaign, Delivery, TestRecipient
from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace

URL = "/w/salon/campaigns/"


def person(workspace: Workspace, n: int, name: str = "佐藤 悠斗", **extra: Any) -> Contact:
    fields: dict[str, Any] = {
        "line_user_id": f"U{n:032x}",
        "line_status": LineStatus.FOLLOWING,
        "external_id": f"C-{n:04d}",
        "phone": f"+8190123400{n:02d}",
        **extra,
    }
    return Contact.objects.create(workspace=workspace, name=name, **fields)


def card_of(page: str) -> str:
    start = page.index('data-testid="test-card"')
    return page[start : page.index("</section>", start)]


def draft(workspace: Workspace, author: User) -> Campaign:
    return services.create_campaign(
        workspace,
        name="テスト",
        messages=[{"type": "text", "text": "こんにちは"}],
        target={"all_friends": True},
        actor=author,
    )


def test_no_customer_is_offered_for_a_test_until_staff_search_or_save_one(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    for n in range(1, 25):
        person(workspace, n, name=f"お客様{n}")
    campaign = draft(workspace, members[Role.OPERATOR])
    page = card_of(client_as(Role.OPERATOR).get(f"{URL}{campaign.pk}/").content.decode())
    assert 'data-testid="no-test-recipients"' in page
    assert 'name="contacts"' not in page and "お客様1" not in page


def test_search_shows_customer_number_and_masked_phone_for_namesakes(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    namesakes = [person(workspace, n) for n in range(1, 5)]
    campaign = draft(workspace, members[Role.OPERATOR])
    client = client_as(Role.OPERATOR)

    found = client.get(f"{URL}{campaign.pk}/?q=佐藤", HTTP_HX_REQUEST="true").content.decode()

    assert "<html" not in found and found.count('data-testid="test-result"') == 4
    for contact in namesakes:
        assert f"顧客番号 {contact.external_id}" in found
        assert contact.phone not in found  # never the whole number
        assert f"電話番号 ••••••{contact.phone[-2:]}" in found
    by_number = client.get(f"{URL}{campaign.pk}/?q=C-0003", HTTP_HX_REQUEST="true")
    assert by_number.content.decode().count('data-testid="test-result"') == 1


def test_saved_test_recipients_are_the_checked_default_and_can_be_removed(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    mine = person(workspace, 1, name="店長")
    person(workspace, 2, name="お客様")
    campaign = draft(workspace, members[Role.OPERATOR])
    client = client_as(Role.OPERATOR)

    added = client.post(f"{URL}{campaign.pk}/test-recipients/add/", {"contact": mine.pk})

    assert added.status_code == 302
    assert list(TestRecipient.objects.values_list("contact_id", flat=True)) == [mine.pk]
    page = card_of(client.get(f"{URL}{campaign.pk}/").content.decode())
    assert f'name="contacts" value="{mine.pk}" checked' in page
    assert "お客様" not in page
    # The default, as the browser posts it, sends the test to the saved one only.
    assert client.post(f"{URL}{campaign.pk}/test/", {"contacts": [mine.pk]}).status_code == 302
    assert Delivery.objects.get(campaign=campaign).test_contact_ids == [mine.pk]

    removed = client.post(f"{URL}{campaign.pk}/test-recipients/remove/", {"contact": mine.pk})
    assert removed.status_code == 302 and not TestRecipient.objects.exists()


def test_a_contact_without_line_or_from_another_workspace_cannot_be_saved(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    no_line = Contact.objects.create(workspace=workspace, name="鈴木", external_id="9")
    other = create_workspace(
        name="別の店",
        slug="other",
        channel_id="2000000002",
        channel_secret="s" * 32,
        channel_access_token="t" * 40,
        api_base_url="http://127.0.0.1:9",
        owner=members[Role.OWNER],
    )
    stranger = person(other, 5)
    campaign = draft(workspace, members[Role.OPERATOR])
    client = client_as(Role.OPERATOR)

    refused = client.post(f"{URL}{campaign.pk}/test-recipients/add/", {"contact": no_line.pk})
    assert refused.status_code == 400 and "LINE未連携" in refused.content.decode()
    foreign = client.post(f"{URL}{campaign.pk}/test-recipients/add/", {"contact": stranger.pk})
    assert foreign.status_code == 400
    assert client.post(f"{URL}{campaign.pk}/test-recipients/add/", {}).status_code == 400
    assert not TestRecipient.objects.exists()


def test_a_viewer_cannot_change_the_test_recipients(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    mine = person(workspace, 1)
    campaign = draft(workspace, members[Role.OPERATOR])
    viewer = client_as(Role.VIEWER)
    answer = viewer.post(f"{URL}{campaign.pk}/test-recipients/add/", {"contact": mine.pk})
    assert answer.status_code == 403 and not TestRecipient.objects.exists()
