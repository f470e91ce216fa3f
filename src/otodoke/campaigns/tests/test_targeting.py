"""Who a send reaches: include/exclude of segments and audiences, consent, against the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from otodoke.campaigns import engine, services
from otodoke.campaigns.models import (
    Campaign,
    Delivery,
    DeliveryRecipient,
    DeliveryStatus,
    RecipientStatus,
)
from otodoke.campaigns.tests.conftest import TEXT, Line, make_contacts
from otodoke.contacts.models import Contact
from otodoke.segments.audiences import create_audience_from_contacts
from otodoke.segments.models import Segment
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

YEARLY = {
    "version": 1,
    "where": {"kind": "attribute", "key": "コース", "op": "equals", "value": "年間契約"},
}


def yearly_segment(workspace: Workspace) -> Segment:
    return save_segment(workspace, name="年間契約", definition=YEARLY, actor=None)


def on_course(contacts: list[Contact], course: str) -> None:
    Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(attributes={"コース": course})


def send(workspace: Workspace, target: dict[str, Any]) -> tuple[Campaign, Delivery]:
    campaign = services.create_campaign(
        workspace, name="spring", messages=TEXT, target=target, actor=None
    )
    return campaign, services.send_campaign(campaign, actor=None)


def run(delivery_id: int) -> str:
    status = ""
    for _ in range(60):
        status = engine.run_delivery(delivery_id)
        if status != DeliveryStatus.SENDING:
            return status
    return status


def outcomes(delivery: Delivery) -> dict[int, tuple[str, str]]:
    rows = DeliveryRecipient.objects.filter(delivery=delivery)
    return {r.contact_id: (r.status, r.reason) for r in rows}


def test_include_audience_exclude_segment_reaches_exactly_the_difference(
    workspace: Workspace, line: Line
) -> None:
    only_audience = make_contacts(workspace, line, 3)
    both = make_contacts(workspace, line, 2)
    only_segment = make_contacts(workspace, line, 2)
    on_course(both + only_segment, "年間契約")
    audience = create_audience_from_contacts(
        workspace, name="来店客", contact_ids=[c.pk for c in only_audience + both], actor=None
    )
    segment = yearly_segment(workspace)
    _, delivery = send(
        workspace,
        {"include": [{"audience": audience.pk}], "exclude": [{"segment": segment.pk}]},
    )

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {c.line_user_id: 1 for c in only_audience}
    assert outcomes(delivery) == {
        **{c.pk: (RecipientStatus.SENT, "") for c in only_audience},
        **{c.pk: (RecipientStatus.EXCLUDED, "excluded_by_target") for c in both},
    }
    delivery.refresh_from_db()
    assert (delivery.total, delivery.excluded, delivery.sent) == (5, 2, 3)


def test_include_segment_exclude_audience_reaches_exactly_the_difference(
    workspace: Workspace, line: Line
) -> None:
    only_segment = make_contacts(workspace, line, 4)
    both = make_contacts(workspace, line, 1)
    only_audience = make_contacts(workspace, line, 2)
    make_contacts(workspace, line, 2)  # in neither
    on_course(only_segment + both, "年間契約")
    audience = create_audience_from_contacts(
        workspace, name="休会中", contact_ids=[c.pk for c in both + only_audience], actor=None
    )
    segment = yearly_segment(workspace)
    _, delivery = send(
        workspace,
        {"include": [{"segment": segment.pk}], "exclude": [{"audience": audience.pk}]},
    )

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {c.line_user_id: 1 for c in only_segment}
    assert outcomes(delivery) == {
        **{c.pk: (RecipientStatus.SENT, "") for c in only_segment},
        both[0].pk: (RecipientStatus.EXCLUDED, "excluded_by_target"),
    }
    delivery.refresh_from_db()
    assert (delivery.total, delivery.excluded, delivery.sent) == (5, 1, 4)


def test_a_contact_without_consent_in_the_segment_gets_nothing_and_is_counted(
    workspace: Workspace, line: Line
) -> None:
    consenting = make_contacts(workspace, line, 3)
    refusing = make_contacts(workspace, line, 2, consent=False)
    on_course(consenting + refusing, "年間契約")
    segment = yearly_segment(workspace)
    _, delivery = send(workspace, {"include": [{"segment": segment.pk}]})

    assert run(delivery.pk) == DeliveryStatus.DONE

    assert line.copies() == {c.line_user_id: 1 for c in consenting}
    assert {c.pk: outcomes(delivery)[c.pk] for c in refusing} == {
        c.pk: (RecipientStatus.EXCLUDED, "no_consent") for c in refusing
    }
    delivery.refresh_from_db()
    assert (delivery.total, delivery.excluded, delivery.sent) == (5, 2, 3)
