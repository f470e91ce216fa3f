"""Every step kind, quiet hours and goals, run by the scheduler against the emulator over HTTP
with an injected clock (nobody sleeps for days)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.ingest import ingest_events
from otodoke.contacts.inputs import EventInput
from otodoke.contacts.models import Contact, ContactTag, LineStatus
from otodoke.contacts.tagging import add_tags
from otodoke.scenarios.models import Enrolment, EnrolmentStatus, SendBatch, StepSend
from otodoke.scenarios.scheduler import tick
from otodoke.scenarios.services import scenario_stats, set_quiet_hours
from otodoke.scenarios.tests.helpers import NOON, active, text, texts, wait
from otodoke.scenarios.triggers import enrol
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
DAY = dt.timedelta(days=1)


def test_a_send_step_delivers_the_personalised_message_once(
    workspace: Workspace, line: Line
) -> None:
    (hanako,) = make_contacts(workspace, line, 1, names=["花子"])
    hello = text("{{ name | default('お客様') }}さん、ようこそ")
    _, version = active(workspace, [hello])
    enrol(workspace, version, [hanako.pk], now=NOON, source="test")

    tick(now=NOON)
    tick(now=NOON + dt.timedelta(minutes=1))

    assert texts(line.received(hanako.line_user_id or "")) == ["花子さん、ようこそ"]
    send = StepSend.objects.get()
    assert send.status == "sent" and send.batch is not None and send.batch.endpoint == "push"
    assert Enrolment.objects.get().status == EnrolmentStatus.COMPLETED


def test_a_send_step_sees_the_shops_business_data_as_campaigns_do(
    workspace: Workspace, line: Line
) -> None:
    (hanako,) = make_contacts(workspace, line, 1, names=["花子"])
    Contact.objects.filter(pk=hanako.pk).update(
        external_id="C-7", visit_count=5, total_spent=30000, last_visit_at=NOON - 60 * DAY
    )
    add_tags(workspace, [hanako.pk], ["VIP"])
    body = text(
        "{{ customer_number }}: {{ days_since_last_visit }}日ぶり、{{ visit_count }}回、"
        "{{ total_spent }}円{% if 'VIP' in tags %}、VIP{% endif %}"
    )
    _, version = active(workspace, [body])
    enrol(workspace, version, [hanako.pk], now=NOON, source="test")

    tick(now=NOON)

    assert texts(line.received(hanako.line_user_id or "")) == ["C-7: 60日ぶり、5回、30,000円、VIP"]


def test_identical_messages_go_out_as_one_multicast(workspace: Workspace, line: Line) -> None:
    contacts = make_contacts(workspace, line, 3)
    _, version = active(workspace, [text("春のお知らせ")])
    enrol(workspace, version, [c.pk for c in contacts], now=NOON, source="test")

    tick(now=NOON)

    batch = SendBatch.objects.get()
    assert (batch.endpoint, batch.recipient_count, batch.status) == ("multicast", 3, "sent")
    assert line.copies() == {c.line_user_id: 1 for c in contacts}


def test_a_duration_wait_holds_the_next_step_until_it_ends(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("1通目"), wait(days=3), text("2通目")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    uid = c.line_user_id or ""

    tick(now=NOON)
    assert texts(line.received(uid)) == ["1通目"]
    assert Enrolment.objects.get().next_due_at == NOON + 3 * DAY

    tick(now=NOON + 2 * DAY)
    assert texts(line.received(uid)) == ["1通目"]

    tick(now=NOON + 3 * DAY)
    assert texts(line.received(uid)) == ["1通目", "2通目"]


def test_a_send_inside_quiet_hours_waits_for_their_end(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [text("こんばんは")])
    late = dt.datetime(2026, 4, 1, 13, 30, tzinfo=dt.UTC)  # 22:30 in Tokyo
    enrol(workspace, version, [c.pk], now=late, source="test")

    tick(now=late)
    assert line.received(c.line_user_id or "") == []
    morning = dt.datetime(2026, 4, 2, 0, 0, tzinfo=dt.UTC)  # 09:00 in Tokyo
    assert Enrolment.objects.get().next_due_at == morning

    tick(now=morning)
    assert texts(line.received(c.line_user_id or "")) == ["こんばんは"]


def test_quiet_hours_follow_the_workspace_setting(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    set_quiet_hours(workspace, enabled=False)
    _, version = active(workspace, [text("夜でも")])
    late = dt.datetime(2026, 4, 1, 13, 30, tzinfo=dt.UTC)
    enrol(workspace, version, [c.pk], now=late, source="test")
    tick(now=late)
    assert texts(line.received(c.line_user_id or "")) == ["夜でも"]


def test_a_send_may_answer_at_once_inside_quiet_hours(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    greeting = {**text("ようこそ"), "quiet_hours": False}
    _, version = active(workspace, [greeting, wait(hours=1), text("夜のおすすめ")])
    late = dt.datetime(2026, 4, 1, 13, 30, tzinfo=dt.UTC)  # 22:30 in Tokyo
    enrol(workspace, version, [c.pk], now=late, source="test")
    tick(now=late)
    tick(now=late + dt.timedelta(hours=1))
    assert texts(line.received(c.line_user_id or "")) == ["ようこそ"]  # the second waits


def test_tag_attribute_branch_and_exit_steps(workspace: Workspace, line: Line) -> None:
    vip, plain = make_contacts(workspace, line, 2)
    add_tags(workspace, [vip.pk], ["vip"])
    add_tags(workspace, [vip.pk, plain.pk], ["新規"])
    is_vip = {"version": 1, "where": {"kind": "tags", "match": "any", "names": ["vip"]}}
    steps: list[dict[str, Any]] = [
        {"type": "add_tag", "tag": "scenario:welcome"},
        {"type": "remove_tag", "tag": "新規"},
        {"type": "set_attribute", "key": "rank", "value": "silver"},
        {"type": "branch", "condition": is_vip, "then": 5, "otherwise": 4},
        text("一般のお客様へ"),
        {"type": "exit"},
        text("届かない"),
    ]
    _, version = active(workspace, steps)
    enrol(workspace, version, [vip.pk, plain.pk], now=NOON, source="test")

    tick(now=NOON)

    assert texts(line.received(plain.line_user_id or "")) == ["一般のお客様へ"]
    assert line.received(vip.line_user_id or "") == []
    for contact in (vip, plain):
        names = set(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))
        assert "scenario:welcome" in names and "新規" not in names
        assert Contact.objects.get(pk=contact.pk).attributes["rank"] == "silver"
    finished = dict(Enrolment.objects.values_list("contact_id", "exit_reason"))
    assert finished == {vip.pk: "exit_step", plain.pk: "exit_step"}
    assert set(Enrolment.objects.values_list("status", flat=True)) == {"completed"}


def test_a_purchase_after_entering_converts_and_stops_the_reminders(
    workspace: Workspace, line: Line
) -> None:
    (c,) = make_contacts(workspace, line, 1)
    goal = {"event": "purchase"}
    scenario, version = active(
        workspace, [text("クーポン"), wait(days=1), text("リマインド")], goal=goal
    )
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON)

    ingest_events(
        workspace,
        [
            EventInput(
                row=1,
                contact_id=c.pk,
                kind="purchase",
                occurred_at=NOON + dt.timedelta(hours=2),
                amount=3000,
            )
        ],
    )
    enrolment = Enrolment.objects.get()
    assert enrolment.status == EnrolmentStatus.CONVERTED

    tick(now=NOON + 2 * DAY)
    assert texts(line.received(c.line_user_id or "")) == ["クーポン"]
    stats = scenario_stats(scenario)
    assert stats["converted"] == 1
    assert [(s["sent"], s["converted"]) for s in stats["steps"]] == [(1, 0), (0, 0), (0, 1)]


def test_a_purchase_before_entering_is_not_the_goal(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    ingest_events(
        workspace,
        [EventInput(row=1, contact_id=c.pk, kind="purchase", occurred_at=NOON - DAY, amount=1)],
    )
    _, version = active(workspace, [text("クーポン")], goal={"event": "purchase"})
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON)
    assert Enrolment.objects.get().status == EnrolmentStatus.COMPLETED


def test_a_friend_who_blocks_mid_scenario_leaves_it(workspace: Workspace, line: Line) -> None:
    stays, blocks, withdraws = make_contacts(workspace, line, 3)
    _, version = active(workspace, [text("1通目"), wait(days=1), text("2通目")])
    enrol(workspace, version, [stays.pk, blocks.pk, withdraws.pk], now=NOON, source="test")
    tick(now=NOON)
    Contact.objects.filter(pk=blocks.pk).update(line_status=LineStatus.BLOCKED)
    Contact.objects.filter(pk=withdraws.pk).update(marketing_consent=False)

    tick(now=NOON + DAY)

    assert texts(line.received(stays.line_user_id or "")) == ["1通目", "2通目"]
    assert texts(line.received(blocks.line_user_id or "")) == ["1通目"]
    assert texts(line.received(withdraws.line_user_id or "")) == ["1通目"]
    reasons = dict(Enrolment.objects.values_list("contact_id", "exit_reason"))
    assert reasons[blocks.pk] == "blocked" and reasons[withdraws.pk] == "no_consent"


def test_a_deleted_contact_leaves(workspace: Workspace, line: Line) -> None:
    (c,) = make_contacts(workspace, line, 1)
    _, version = active(workspace, [wait(hours=1), text("届かない")])
    enrol(workspace, version, [c.pk], now=NOON, source="test")
    tick(now=NOON)
    Contact.objects.filter(pk=c.pk).delete()
    tick(now=NOON + DAY)
    enrolment = Enrolment.objects.get()
    assert (enrolment.status, enrolment.exit_reason) == ("exited", "deleted")
    assert SendBatch.objects.count() == 0


def test_one_tick_sends_every_due_step_beyond_one_claim_window(
    workspace: Workspace, line: Line, settings: Any
) -> None:
    settings.OTODOKE_SEND_CONCURRENCY = 4  # a claim takes 4 batches at a time
    contacts = make_contacts(workspace, line, 10)
    _, version = active(workspace, [text("{{ name }}さん")])  # personalised: 10 pushes
    enrol(workspace, version, [c.pk for c in contacts], now=NOON, source="test")
    assert tick(now=NOON).dispatch.sent == 10
    assert line.copies() == {c.line_user_id: 1 for c in contacts}
