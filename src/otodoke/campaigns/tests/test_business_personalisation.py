"""Personalisation sees the shop's business data (issue 15.2): customer number, last visit
date, days since the last visit, visits, total spent and tags, in a real send to the emulator
over HTTP; tags are loaded per chunk of recipients, never per recipient."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otodoke.campaigns.models import DeliveryStatus
from otodoke.campaigns.tests.conftest import Line, make_contacts, run, send_all
from otodoke.contacts.models import Contact
from otodoke.contacts.tagging import add_tags
from otodoke.messaging.personalize import (
    BusinessData,
    compile_messages,
    recipient_context,
    uses_variable,
)
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

SHOP_TEXT = (
    "{{ name }}様 (No.{{ customer_number }}) 前回のご来店 {{ last_visit_date }} から"
    "{{ days_since_last_visit }}日、{{ visit_count }}回目、累計{{ total_spent }}円、{{ tags }}"
)


def test_a_send_fills_in_each_recipients_business_data(workspace: Workspace, line: Line) -> None:
    hanako, newcomer = make_contacts(workspace, line, 2, names=["花子", "新規"])
    visited = timezone.now() - timedelta(days=45)
    Contact.objects.filter(pk=hanako.pk).update(
        external_id="M-1001", last_visit_at=visited, visit_count=12, total_spent=30000
    )
    add_tags(workspace, [hanako.pk], ["VIP", "カット会員", "clicked:abc"])
    messages = [{"type": "text", "text": SHOP_TEXT}]

    _, delivery = send_all(workspace, messages=messages)
    assert run(delivery.pk) == DeliveryStatus.DONE

    local_visit = visited.astimezone(workspace.tzinfo).date()
    days = (timezone.now().astimezone(workspace.tzinfo).date() - local_visit).days
    text = line.received(str(hanako.line_user_id))[0]["messages"][0]["text"]
    assert text == (
        f"花子様 (No.M-1001) 前回のご来店 {local_visit:%Y/%m/%d} から{days}日、"
        "12回目、累計30,000円、VIP、カット会員"
    )
    # No business data: empty where unknown, zero counts; click tags never shown.
    other = line.received(str(newcomer.line_user_id))[0]["messages"][0]["text"]
    assert other == "新規様 (No.) 前回のご来店  から日、0回目、累計0円、"


def test_tags_are_loaded_in_one_query_per_chunk_not_per_recipient(
    workspace: Workspace, line: Line
) -> None:
    contacts = make_contacts(workspace, line, 30)
    add_tags(workspace, [c.pk for c in contacts], ["VIP"])
    messages = [{"type": "text", "text": "{{ name }} {{ tags }} {{ visit_count }}"}]
    _, delivery = send_all(workspace, messages=messages)

    with CaptureQueriesContext(connection) as queries:
        assert run(delivery.pk) == DeliveryStatus.DONE

    tag_queries = [q for q in queries.captured_queries if "contacttag" in q["sql"].lower()]
    assert len(tag_queries) == 1
    assert line.received(str(contacts[7].line_user_id))[0]["messages"][0]["text"] == "客7 VIP 0"


def test_templates_compare_numbers_and_look_into_tags() -> None:
    business = BusinessData(
        last_visit_at=datetime(2026, 10, 1, 16, 0, tzinfo=UTC),  # 10/2 01:00 in Tokyo
        visit_count=5,
        total_spent=123456,
        tags=("VIP",),
    )

    context = recipient_context(
        "花子", {}, business, tz=ZoneInfo("Asia/Tokyo"), today=date(2026, 12, 1)
    )
    assert context["last_visit_date"] == "2026/10/02"
    assert context["days_since_last_visit"] == 60
    assert context["total_spent"] >= 100000 and str(context["total_spent"]) == "123,456"
    assert "VIP" in context["tags"]
    assert uses_variable(
        [{"type": "text", "text": "{% if 'VIP' in tags %}特別{% endif %}"}], "tags"
    )
    assert not uses_variable([{"type": "text", "text": "{{ name }}"}], "tags")
    text = "{% if total_spent >= 100000 and 'VIP' in tags %}特別{% endif %}{{ total_spent }}円"
    rendered = compile_messages([{"type": "text", "text": text}]).render(context)
    assert rendered == [{"type": "text", "text": "特別123,456円"}]
