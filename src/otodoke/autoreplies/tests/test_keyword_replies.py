"""Keyword rules end to end: the friend types at the emulator, the signed webhook reaches the
live server, the worker answers by the event's reply token. Once per event, in priority order,
never by push; the link keyword keeps its own answer."""

from __future__ import annotations

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from otodoke.autoreplies import services
from otodoke.autoreplies.models import AutoReply, ReplyStatus
from otodoke.autoreplies.tests.conftest import (
    FRIEND,
    keyword_rule,
    requests_to,
    texts,
)
from otodoke.contacts.models import Contact
from otodoke.contacts.tagging import tag_names_by_contact
from otodoke.line.tests.conftest import run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def follow(wired: httpx.Client) -> None:
    wired.post(f"/friends/{FRIEND}/follow", json={"display_name": "はなこ"})
    run_tasks()


def test_a_keyword_reply_arrives_once_even_when_line_redelivers_the_webhook(
    emulator: EmulatorServer, workspace: Workspace, wired: httpx.Client
) -> None:
    keyword_rule(workspace, "予約", ["予約"], "ご予約はこちらから https://example.com/r")
    follow(wired)
    sent = wired.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    delivery = sent.json()["webhook"]["delivery_id"]
    run_tasks()
    redelivered = wired.post(f"/webhooks/{delivery}/redeliver")
    assert redelivered.json()["attempts"][-1]["status_code"] == 200
    run_tasks()

    assert texts(wired) == ["ご予約はこちらから https://example.com/r"]
    assert requests_to(emulator.url, "/v2/bot/message/reply") == 1
    assert requests_to(emulator.url, "/v2/bot/message/push") == 0
    reply = AutoReply.objects.get()
    assert reply.status == ReplyStatus.REPLIED and reply.request_id


def test_the_first_matching_rule_by_priority_answers_and_reordering_changes_it(
    workspace: Workspace, wired: httpx.Client
) -> None:
    general = keyword_rule(workspace, "general", ["予約"], "一般", match_type="contains")
    cut = keyword_rule(workspace, "cut", ["カット予約"], "カットのご予約")
    follow(wired)
    wired.post(f"/friends/{FRIEND}/message", json={"text": "カット予約"})
    run_tasks()
    services.reorder(workspace, [cut.pk, general.pk])
    wired.post(f"/friends/{FRIEND}/message", json={"text": "カット予約"})
    run_tasks()
    wired.post(f"/friends/{FRIEND}/message", json={"text": "予約したい"})  # contains
    run_tasks()
    assert texts(wired) == ["一般", "カットのご予約", "一般"]


def test_a_rule_adds_its_tag_once_and_an_unmatched_message_gets_no_answer(
    workspace: Workspace, wired: httpx.Client
) -> None:
    keyword_rule(workspace, "coupon", ["クーポン"], "今月のクーポンです", add_tag="coupon-asked")
    follow(wired)
    wired.post(f"/friends/{FRIEND}/message", json={"text": "ｸｰﾎﾟﾝ"})  # half-width counts
    wired.post(f"/friends/{FRIEND}/message", json={"text": "こんにちは"})
    run_tasks()
    assert texts(wired) == ["今月のクーポンです"]
    contact = Contact.objects.get(line_user_id=FRIEND)
    assert tag_names_by_contact([contact.pk])[contact.pk] == ["coupon-asked"]


def test_the_link_keyword_keeps_its_invitation_before_any_rule(
    public_url: str, workspace: Workspace, wired: httpx.Client
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")
    keyword_rule(workspace, "catch-all", ["会員"], "ルールの答え", match_type="contains")
    follow(wired)
    wired.post(f"/friends/{FRIEND}/message", json={"text": "会員連携"})
    run_tasks()
    run_tasks()
    assert len(texts(wired)) == 1 and "ルールの答え" not in texts(wired)
    assert not AutoReply.objects.exists()


def test_a_disabled_rule_does_not_answer(workspace: Workspace, wired: httpx.Client) -> None:
    rule = keyword_rule(workspace, "予約", ["予約"], "ご予約")
    services.set_enabled(rule, False)
    follow(wired)
    wired.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    run_tasks()
    assert texts(wired) == []


def test_a_rule_can_start_a_scenario_once_per_event(
    workspace: Workspace, wired: httpx.Client
) -> None:
    from otodoke.scenarios.models import Enrolment
    from otodoke.scenarios.services import set_quiet_hours
    from otodoke.scenarios.tests.helpers import active, text, wait

    set_quiet_hours(workspace, enabled=False)
    scenario, _version = active(
        workspace,
        [wait(days=1), text("昨日はご予約ありがとうございました")],
        trigger={"kind": "tag_added", "params": {"tag": "never-used"}},
        name="予約フォロー",
    )
    keyword_rule(workspace, "予約", ["予約"], "ご予約はこちら", scenario_id=scenario.pk)
    follow(wired)
    sent = wired.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    run_tasks()
    wired.post(f"/webhooks/{sent.json()['webhook']['delivery_id']}/redeliver")
    run_tasks()
    enrolment = Enrolment.objects.get(scenario=scenario)
    assert enrolment.contact == Contact.objects.get(line_user_id=FRIEND)
    assert enrolment.source.startswith("autoreply:")
    assert texts(wired) == ["ご予約はこちら"]  # the scenario's message waits a day


def test_the_answer_is_in_the_friends_chat_timeline(
    workspace: Workspace, wired: httpx.Client
) -> None:
    from otodoke.chat.models import Conversation
    from otodoke.chat.timeline import timeline

    keyword_rule(workspace, "営業時間", ["営業時間"], "10:00〜20:00です")
    follow(wired)
    wired.post(f"/friends/{FRIEND}/message", json={"text": "営業時間"})
    run_tasks()

    conversation = Conversation.objects.get(contact__line_user_id=FRIEND)
    rows = [(i.direction, i.source, i.label, i.messages) for i in timeline(conversation)]
    assert rows[-1] == (
        "out",
        "autoreply",
        "営業時間",
        [{"type": "text", "text": "10:00〜20:00です"}],
    )
    assert rows[-2][:2] == ("in", "friend")
