"""An "entered a segment" trigger on a contact's own data reacts when that data changes, by a
staff edit, the API or a scenario step, without waiting for the once-a-minute full evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts import editing
from otodoke.contacts.inputs import ContactInput
from otodoke.contacts.models import Contact
from otodoke.contacts.services import upsert_contacts
from otodoke.scenarios import scheduler
from otodoke.scenarios.models import Enrolment, Scenario
from otodoke.scenarios.services import activate_scenario, create_scenario, set_quiet_hours
from otodoke.scenarios.tests.helpers import texts
from otodoke.scenarios.timed import tick
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
GOLD = {
    "version": 1,
    "where": {"kind": "attribute", "key": "plan", "op": "equals", "value": "gold"},
}
WELCOME_GOLD = {"type": "send", "messages": [{"type": "text", "text": "ゴールド会員へようこそ"}]}


def _scenario(
    workspace: Workspace, name: str, trigger: dict[str, Any], steps: list[Any]
) -> Scenario:
    scenario = create_scenario(
        workspace,
        name=name,
        spec={"trigger": trigger, "entry_rule": "every", "steps": steps},
    )
    return activate_scenario(scenario)


@pytest.fixture
def gold(workspace: Workspace) -> Scenario:
    """Active, and its watch's baseline taken (nobody is gold yet)."""
    scenario = _scenario(
        workspace,
        "gold",
        {"kind": "segment_entered", "params": {"definition": GOLD}},
        [WELCOME_GOLD],
    )
    tick(workspace, timezone.now() - dt.timedelta(seconds=1))
    assert not Enrolment.objects.filter(scenario=scenario).exists()
    return scenario


def _entered(scenario: Scenario) -> list[int]:
    return sorted(Enrolment.objects.filter(scenario=scenario).values_list("contact_id", flat=True))


def test_a_staff_edit_of_an_attribute_enrols_at_once(
    workspace: Workspace, line: Line, gold: Scenario
) -> None:
    first, second = make_contacts(workspace, line, 2)
    editing.update_contact(first, {}, attributes={"plan": "gold"})
    editing.update_contact(second, {}, attributes={"plan": "silver"})
    assert _entered(gold) == [first.pk]
    # Saved again unchanged: no second entry, no signal for a non-change.
    first.refresh_from_db()
    editing.update_contact(first, {}, attributes={"plan": "gold"})
    assert _entered(gold) == [first.pk]


def test_an_api_upsert_of_an_attribute_enrols_at_once(
    workspace: Workspace, line: Line, gold: Scenario
) -> None:
    (contact,) = make_contacts(workspace, line, 1)
    Contact.objects.filter(pk=contact.pk).update(external_id="C-100")
    result = upsert_contacts(
        workspace, [ContactInput(row=0, external_id="C-100", attributes={"plan": "gold"})]
    )
    assert not result.errors
    assert _entered(gold) == [contact.pk]


def test_a_scenario_step_that_sets_the_attribute_starts_the_other_scenario(
    workspace: Workspace, line: Line, gold: Scenario
) -> None:
    set_quiet_hours(workspace, enabled=False)
    upgrade = _scenario(
        workspace,
        "upgrade",
        {"kind": "tag_added", "params": {"tag": "常連"}},
        [{"type": "set_attribute", "key": "plan", "value": "gold"}],
    )
    (contact,) = make_contacts(workspace, line, 1)
    editing.add_tag(contact, "常連")
    assert _entered(upgrade) == [contact.pk]
    scheduler.tick()
    contact.refresh_from_db()
    assert contact.attributes == {"plan": "gold"}
    assert _entered(gold) == [contact.pk]
    scheduler.tick()
    assert texts(line.received(contact.line_user_id or "")) == ["ゴールド会員へようこそ"]
