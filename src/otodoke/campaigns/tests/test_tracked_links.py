"""Tracked links: per-recipient redirect links that record the click and go nowhere else."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from otodoke.campaigns import engine, services
from otodoke.campaigns.models import DeliveryStatus
from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.models import ContactTag
from otodoke.tracking.models import Click, TrackedLink
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db
SHOP = "https://shop.example/spring?utm=line"


def test_a_tracked_link_records_the_click_and_redirects_only_to_the_campaign_url(
    workspace: Workspace, line: Line, client: Client
) -> None:
    alice, bob = make_contacts(workspace, line, 2)
    campaign = services.create_campaign(
        workspace,
        name="links",
        actor=None,
        target={"all_friends": True},
        messages=[{"type": "text", "text": f"セール中 {SHOP}"}],
    )
    delivery = services.send_campaign(campaign, actor=None)
    assert engine.run_delivery(delivery.pk) == DeliveryStatus.DONE

    text = line.received(str(alice.line_user_id))[0]["messages"][0]["text"]
    match = re.search(r"https://otodoke\.example/r/(\S+)", text)
    assert match is not None and SHOP not in text
    bob_text = line.received(str(bob.line_user_id))[0]["messages"][0]["text"]
    assert bob_text != text  # each recipient has their own link

    response = client.get(f"/r/{match.group(1)}?next=https://evil.example/", HTTP_USER_AGENT="LINE")
    assert response.status_code == 302 and response["Location"] == SHOP

    link = TrackedLink.objects.get(campaign_id=campaign.pk)
    click = Click.objects.get(link=link)
    assert (click.contact_id, click.user_agent) == (alice.pk, "LINE")
    assert ContactTag.objects.filter(contact=alice, tag__name=f"clicked:{link.token}").exists()


def test_a_forged_or_altered_token_redirects_nowhere(workspace: Workspace, client: Client) -> None:
    from otodoke.messaging.links import click_token
    from otodoke.tracking.services import create_tracked_link

    link = create_tracked_link(workspace, SHOP)
    token = click_token(link.pk, 1)
    head, _, signature = token.rpartition("-")
    assert client.get(f"/r/{head}-{signature[::-1]}").status_code == 404
    assert client.get("/r/https:%2F%2Fevil.example").status_code == 404
    assert not Click.objects.exists()
