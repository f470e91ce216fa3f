"""Triggers from the shop's own data: a tag added, a contact linked to LINE, an event with
property filters, a tracked link clicked. Each hooks into the existing service function."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.ingest import ingest_events
from otodoke.contacts.inputs import EventInput
from otodoke.contacts.models import Contact
from otodoke.contacts.services import link_line_user
from otodoke.contacts.tagging import add_tags
from otodoke.messaging.clicks import register_click
from otodoke.messaging.links import click_token
from otodoke.scenarios.models import Enrolment
from otodoke.scenarios.scheduler import tick
from otodoke.scenarios.services import set_quiet_hours
from otodoke.scenarios.tests.helpers import active, text, texts
from otodoke.tracking.services import create_tracked_link
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def any_hour(workspace: Workspace) -> None:
    set_quiet_hours(workspace, enabled=False)


def test_a_new_tag_triggers_and_an_existing_one_does_not(workspace: Workspace, line: Line) -> None:
    tagged_before, newly = make_contacts(workspace, line, 2)
    add_tags(workspace, [tagged_before.pk], ["来店"])
    active(
        workspace,
        [text("ご来店ありがとう")],
        trigger={"kind": "tag_added", "params": {"tag": "来店"}},
    )

    add_tags(workspace, [tagged_before.pk, newly.pk], ["来店", "その他"])
    tick()

    assert texts(line.received(newly.line_user_id or "")) == ["ご来店ありがとう"]
    assert line.received(tagged_before.line_user_id or "") == []


def test_linking_a_customer_to_line_triggers_contact_linked(
    workspace: Workspace, line: Line
) -> None:
    (friend,) = make_contacts(workspace, line, 1)
    customer = Contact.objects.create(workspace=workspace, external_id="C-1", name="山田")
    active(
        workspace,
        [text("{{ name }}様、連携ありがとうございます")],
        trigger={"kind": "contact_linked"},
    )

    link_line_user(customer, friend.line_user_id or "", via="manual")
    tick()

    assert texts(line.received(friend.line_user_id or "")) == ["山田様、連携ありがとうございます"]
    assert Enrolment.objects.get().contact_id == customer.pk


def test_an_event_with_matching_properties_triggers(workspace: Workspace, line: Line) -> None:
    trial, regular, cheap = make_contacts(workspace, line, 3)
    where = [
        {"key": "category", "op": "equals", "value": "trial"},
        {"key": "amount", "op": "gte", "value": 1000},
    ]
    active(
        workspace,
        [text("トライアルありがとうございます")],
        trigger={"kind": "event", "params": {"event": "purchase", "where": where}},
    )
    now = timezone.now()

    def purchase(row: int, contact: Contact, category: str, amount: int) -> EventInput:
        return EventInput(
            row=row,
            contact_id=contact.pk,
            kind="purchase",
            occurred_at=now,
            amount=amount,
            properties={"category": category},
            external_id=f"o-{row}",
        )

    events = [purchase(1, trial, "trial", 1980), purchase(2, regular, "regular", 5000)]
    ingest_events(workspace, [*events, purchase(3, cheap, "trial", 500)])
    ingest_events(workspace, events)  # the same orders again: not new, no second entry
    tick()

    assert texts(line.received(trial.line_user_id or "")) == ["トライアルありがとうございます"]
    assert line.received(regular.line_user_id or "") == []
    assert line.received(cheap.line_user_id or "") == []
    assert Enrolment.objects.count() == 1


def test_clicking_a_tracked_link_triggers(workspace: Workspace, line: Line) -> None:
    clicker, other = make_contacts(workspace, line, 2)
    link = create_tracked_link(workspace, "https://shop.example/sale", campaign_id=None)
    elsewhere = create_tracked_link(workspace, "https://shop.example/other")
    active(
        workspace,
        [text("ご覧いただきありがとうございます")],
        trigger={"kind": "link_clicked", "params": {"link_id": link.pk}},
    )

    assert register_click(click_token(link.pk, clicker.pk)) == link.url
    register_click(click_token(elsewhere.pk, other.pk))
    tick()

    assert texts(line.received(clicker.line_user_id or "")) == ["ご覧いただきありがとうございます"]
    assert line.received(other.line_user_id or "") == []


def test_enrolled_at_the_triggers_time_and_sent_right_away(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    active(workspace, [text("即時")], trigger={"kind": "tag_added", "params": {"tag": "x"}})
    before = timezone.now() - dt.timedelta(seconds=1)
    add_tags(workspace, [c.pk], ["x"])
    enrolment = Enrolment.objects.get()
    assert enrolment.next_due_at is not None and enrolment.next_due_at >= before
    tick()
    assert texts(line.received(c.line_user_id or "")) == ["即時"]
