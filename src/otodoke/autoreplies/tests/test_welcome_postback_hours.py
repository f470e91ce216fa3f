"""The welcome on follow (personalised for a linked customer, with the link invitation for a
friend who is not), postback rules and the out-of-hours reply, over HTTP with the emulator."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.utils import timezone

from line_emulator.testing import EmulatorServer
from otodoke.autoreplies import matching, services
from otodoke.autoreplies.models import AutoReply, ReplyStatus, Rule
from otodoke.autoreplies.tests.conftest import (
    FRIEND,
    keyword_rule,
    received,
    requests_to,
    text,
    texts,
)
from otodoke.contacts.models import Contact, LinkedVia
from otodoke.line.tests.conftest import run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)
AWAY = "ただいま営業時間外です。明日10時以降にお返事します。"
GREETING = "{{ name | default('お客様') }}さま、友だち追加ありがとうございます！"


def welcome(workspace: Workspace, *messages: str, invite: bool = True) -> Rule:
    return services.create_rule(
        workspace,
        {
            "kind": "welcome",
            "name": "あいさつ",
            "messages": [text(m) for m in messages or (GREETING,)],
            "invite_unlinked": invite,
        },
    )


def test_a_new_friend_gets_the_welcome_and_the_link_invitation_once_in_one_free_reply(
    emulator: EmulatorServer, public_url: str, workspace: Workspace, wired: httpx.Client
) -> None:
    welcome(workspace)
    followed = wired.post(f"/friends/{FRIEND}/follow", json={"display_name": "はなこ"})
    run_tasks()
    delivery = followed.json()["webhook"]["delivery_id"]
    wired.post(f"/webhooks/{delivery}/redeliver")
    run_tasks()

    got = received(wired)
    assert [m["type"] for m in got] == ["text", "template"]
    assert got[0]["text"] == "お客様さま、友だち追加ありがとうございます！"
    assert got[1]["template"]["actions"][0]["uri"].startswith(f"{public_url}/link/")
    assert {m["endpoint"] for m in got} == {"reply"}
    assert requests_to(emulator.url, "/v2/bot/message/reply") == 1
    assert requests_to(emulator.url, "/v2/bot/message/push") == 0


def test_a_linked_customer_who_unblocks_gets_a_welcome_with_their_data_and_no_invitation(
    public_url: str, workspace: Workspace, wired: httpx.Client
) -> None:
    Contact.objects.create(
        workspace=workspace,
        external_id="M-1001",
        name="山田 花子",
        line_user_id=FRIEND,
        line_linked_at=timezone.now(),
        line_linked_via=LinkedVia.ACCOUNT_LINK,
        visit_count=7,
    )
    welcome(workspace, GREETING, "会員番号 {{ customer_number }}・ご来店 {{ visit_count }} 回")
    wired.post(f"/friends/{FRIEND}/follow")
    wired.post(f"/friends/{FRIEND}/block")
    wired.post(f"/friends/{FRIEND}/unblock")
    run_tasks()
    assert (
        texts(wired)
        == [
            "山田 花子さま、友だち追加ありがとうございます！",
            "会員番号 M-1001・ご来店 7 回",
        ]
        * 2
    )  # the first follow and the unblock each get the welcome, never an invitation


def test_a_postback_rule_matches_on_its_data_key_and_value(
    workspace: Workspace, wired: httpx.Client
) -> None:
    services.create_rule(
        workspace,
        {
            "kind": "postback",
            "name": "予約ボタン",
            "postback_key": "action",
            "postback_value": "reserve",
            "messages": [text("ご希望の日時をお送りください")],
        },
    )
    wired.post(f"/friends/{FRIEND}/follow")
    wired.post(f"/friends/{FRIEND}/postback", json={"data": "action=menu&page=1"})
    wired.post(f"/friends/{FRIEND}/postback", json={"data": "menu=cut&action=reserve"})
    run_tasks()
    assert texts(wired) == ["ご希望の日時をお送りください"]


def hours(workspace: Workspace, days: list[int], opens: str, closes: str) -> Rule:
    return services.create_rule(
        workspace,
        {
            "kind": "away",
            "name": "営業時間外",
            "open_days": days,
            "opens_at": opens,
            "closes_at": closes,
            "messages": [text(AWAY)],
        },
    )


def test_outside_business_hours_a_message_without_a_keyword_gets_the_away_reply(
    workspace: Workspace, wired: httpx.Client
) -> None:
    hours(workspace, [], "10:00", "19:00")  # closed every day: always outside the hours
    keyword_rule(workspace, "予約", ["予約"], "ご予約はこちら")
    wired.post(f"/friends/{FRIEND}/follow")
    wired.post(f"/friends/{FRIEND}/message", json={"text": "予約"})
    wired.post(f"/friends/{FRIEND}/message", json={"text": "今日あいてますか"})
    run_tasks()
    assert texts(wired) == ["ご予約はこちら", AWAY]


def test_inside_business_hours_there_is_no_away_reply(
    workspace: Workspace, wired: httpx.Client
) -> None:
    local = timezone.now().astimezone(workspace.tzinfo)
    # Open every day from an hour ago to an hour from now (past midnight when it comes to it).
    opens, closes = (local - dt.timedelta(hours=1)).time(), (local + dt.timedelta(hours=1)).time()
    hours(workspace, [0, 1, 2, 3, 4, 5, 6], opens.strftime("%H:%M"), closes.strftime("%H:%M"))
    wired.post(f"/friends/{FRIEND}/follow")
    wired.post(f"/friends/{FRIEND}/message", json={"text": "今日あいてますか"})
    run_tasks()
    assert texts(wired) == []
    assert not AutoReply.objects.exists()


TOKYO = dt.timezone(dt.timedelta(hours=9))


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        (dt.datetime(2026, 12, 7, 9, 59, tzinfo=TOKYO), False),  # Monday before opening
        (dt.datetime(2026, 12, 7, 10, 0, tzinfo=TOKYO), True),
        (dt.datetime(2026, 12, 7, 18, 59, tzinfo=TOKYO), True),
        (dt.datetime(2026, 12, 7, 19, 0, tzinfo=TOKYO), False),
        (dt.datetime(2026, 12, 9, 12, 0, tzinfo=TOKYO), False),  # Wednesday: closed
        (dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC), True),  # 12:00 in Tokyo
    ],
)
def test_business_hours_are_read_in_the_workspace_time_zone(
    workspace: Workspace, local: dt.datetime, open_: bool
) -> None:
    rule = Rule(open_days=[0, 1, 3, 4, 5], opens_at=dt.time(10), closes_at=dt.time(19))
    assert matching.is_open(rule, local, workspace.tzinfo) is open_


def test_hours_past_midnight_belong_to_the_day_they_opened(workspace: Workspace) -> None:
    bar = Rule(open_days=[4], opens_at=dt.time(18), closes_at=dt.time(2))  # Friday 18–02
    tz = workspace.tzinfo
    assert matching.is_open(bar, dt.datetime(2026, 12, 11, 23, 0, tzinfo=TOKYO), tz)
    assert matching.is_open(bar, dt.datetime(2026, 12, 12, 1, 0, tzinfo=TOKYO), tz)  # Sat 1:00
    assert not matching.is_open(bar, dt.datetime(2026, 12, 13, 1, 0, tzinfo=TOKYO), tz)


def test_every_reply_is_recorded(workspace: Workspace, wired: httpx.Client) -> None:
    welcome(workspace, invite=False)
    wired.post(f"/friends/{FRIEND}/follow")
    run_tasks()
    reply = AutoReply.objects.get()
    assert reply.status == ReplyStatus.REPLIED
    assert reply.contact == Contact.objects.get(line_user_id=FRIEND)
