"""The composer offers the business-data placeholders (issue 15.2) and its preview fills them
in for the sample contact exactly as the send does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from otodoke.contacts.tagging import add_tags
from otodoke.web.tests.test_campaigns import URL, compose_data, friend, tokyo_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def test_the_picker_offers_business_data(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    page = client_as(Role.OPERATOR).get(f"{URL}new/").content.decode()
    for code in (
        "{{ customer_number }}",
        "{{ last_visit_date }}",
        "{{ days_since_last_visit }}",
        "{{ visit_count }}",
        "{{ total_spent }}円",
        "{{ tags }}",
    ):
        assert f'data-insert="{code}"' in page, code
    assert "前回来店からの日数" in page


def test_the_preview_fills_in_the_sample_contacts_business_data(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    hanako = friend(
        workspace,
        "山田花子",
        2,
        external_id="M-7",
        visit_count=3,
        total_spent=30000,
        last_visit_at=timezone.now() - timedelta(days=10),
    )
    add_tags(workspace, [hanako.pk], ["VIP"])
    text = (
        "前回のご来店から{{ days_since_last_visit }}日 {{ total_spent }}円 {{ tags }} "
        "{{ customer_number }}"
    )
    data = {**compose_data(tokyo_segment(workspace), **{"m0-text": text}), "sample": str(hanako.pk)}
    page = client_as(Role.OPERATOR).post(f"{URL}new/preview/", data).content.decode()
    assert "前回のご来店から10日 30,000円 VIP M-7" in page
