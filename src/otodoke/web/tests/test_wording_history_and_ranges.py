"""Wording (issue 15.5): the visit history names event properties in Japanese, never as the
English keys `item:` / `category:`; a yen or count range's boxes read 下限 / 上限, not 開始日."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from django.test import Client
from django.utils import timezone, translation

from otodoke.contacts.models import Contact, Event
from otodoke.segments.services import save_segment
from otodoke.web.contacts import EventLine
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def test_visit_history_shows_property_labels_not_english_keys(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = Contact.objects.create(workspace=workspace, external_id="C-1", name="山田花子")
    Event.objects.create(
        workspace=workspace,
        contact=contact,
        kind="purchase",
        amount=3300,
        occurred_at=timezone.now() - timedelta(days=1),
        properties={"item": "シャンプー", "category": "ヘアケア", "担当": "佐藤", "quantity": 1200},
    )
    page = client_as(Role.VIEWER).get(f"/w/salon/contacts/{contact.pk}/").content.decode()
    details = re.findall(r'data-testid="event-detail">([^<]+)<', page)
    # Known keys first in a fixed order, then the shop's own: the same on both databases.
    assert details == ["商品：シャンプー", "カテゴリ：ヘアケア", "数量：1,200", "担当：佐藤"]
    assert "item:" not in page and "category:" not in page
    assert "3,300円" in page


def test_event_details_read_lists_and_flags() -> None:
    line = EventLine(timezone.now(), "購入", None, {"coupon": True, "tags": ["春", "新規"]})
    with translation.override("ja"):
        assert line.details == [("クーポン", "あり"), ("tags", "春、新規")]
    with translation.override("en"):
        assert line.details == [("Coupon", "Yes"), ("tags", "春、新規")]


def test_a_yen_range_is_labelled_lower_and_upper_bound(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    definition = {"version": 1, "where": {"kind": "total_spent", "min": 30000}}
    segment = save_segment(workspace, name="上客", definition=definition, actor=None)
    page = client_as(Role.VIEWER).get(f"/w/salon/segments/{segment.pk}/").content.decode()
    labels = re.findall(r'<label class="inline" for="[^"]+-(min|max)">([^<]+)</label>', page)
    assert labels == [("min", "下限"), ("max", "上限")]
    assert "開始日" not in "".join(text for _, text in labels)
