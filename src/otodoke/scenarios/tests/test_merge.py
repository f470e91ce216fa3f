"""Linking merges a LINE-only follower into the customer: their enrolments move with them."""

from __future__ import annotations

import datetime as dt

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.models import Contact
from otodoke.contacts.services import link_line_user
from otodoke.scenarios.models import Enrolment
from otodoke.scenarios.scheduler import tick
from otodoke.scenarios.tests.helpers import NOON, active, text, texts, wait
from otodoke.scenarios.triggers import enrol
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_followers_enrolment_moves_to_the_customer_on_linking(
    workspace: Workspace, line: Line
) -> None:
    (follower,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("ようこそ"), wait(days=1), text("翌日")])
    enrol(workspace, version, [follower.pk], now=NOON, source="test")
    tick(now=NOON)
    customer = Contact.objects.create(workspace=workspace, external_id="C-9", name="佐藤")

    link_line_user(customer, follower.line_user_id or "", via="manual")

    enrolment = Enrolment.objects.get()
    assert enrolment.contact_id == customer.pk and enrolment.status == "active"
    assert not Contact.objects.filter(pk=follower.pk).exists()
    tick(now=NOON + dt.timedelta(days=1))
    assert texts(line.received(follower.line_user_id or "")) == ["ようこそ", "翌日"]
