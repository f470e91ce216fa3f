"""The 自動応答 pages with Django's test client, in Japanese: create without JSON, LINE's limits
named on the field, the free-reply note, reordering, on/off, the test box, and roles."""

# ruff: noqa: F811 - fixtures imported by name

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from otodoke.autoreplies import services
from otodoke.autoreplies.models import Rule, RuleKind
from otodoke.autoreplies.tests.conftest import keyword_rule, text
from otodoke.web.tests.conftest import client_as, members, workspace  # noqa: F401
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.django_db


def url(workspace: Workspace, rest: str = "") -> str:
    return f"/w/{workspace.slug}/autoreplies/{rest}"


def test_the_list_says_replies_are_free_and_is_in_the_navigation(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    page = client_as(Role.VIEWER).get(url(workspace))
    assert page.status_code == 200
    body = page.content.decode()
    assert "応答メッセージは配信数にカウントされません" in body
    assert 'data-testid="nav-autoreplies"' in body and "自動応答" in body
    assert 'data-testid="new-rule"' not in body  # viewers read only


def test_an_operator_creates_a_keyword_rule_from_the_form(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    answer = client_as(Role.OPERATOR).post(
        url(workspace, "new/?kind=keyword"),
        {
            "name": "予約",
            "enabled": "on",
            "keywords": "予約\nよやく\n",
            "match_type": "contains",
            "add_tag": "予約希望",
            "m0-kind": "text",
            "m0-text": "{{ name | default('お客様') }}さま、ご予約はこちらから",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rule = Rule.objects.get()
    assert (rule.kind, rule.keywords, rule.match_type, rule.add_tag) == (
        RuleKind.KEYWORD,
        ["予約", "よやく"],
        "contains",
        "予約希望",
    )
    assert rule.messages == [
        {"type": "text", "text": "{{ name | default('お客様') }}さま、ご予約はこちらから"}
    ]


def test_too_long_a_message_is_named_with_lines_limit_and_nothing_is_saved(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    answer = client_as(Role.OPERATOR).post(
        url(workspace, "new/?kind=keyword"),
        {"name": "長文", "keywords": "長文", "m0-kind": "text", "m0-text": "あ" * 5001},
    )
    assert answer.status_code == 400
    assert 'data-testid="message-issues-0"' in answer.content.decode()
    assert "5,000" in answer.content.decode()  # LINE's limit, named
    assert not Rule.objects.exists()


def test_a_keyword_rule_without_keywords_is_refused_on_the_field(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    answer = client_as(Role.OPERATOR).post(
        url(workspace, "new/?kind=keyword"), {"name": "空", "m0-kind": "text", "m0-text": "x"}
    )
    assert answer.status_code == 400
    assert "キーワードを1つ以上追加してください" in answer.content.decode()


def test_business_hours_are_edited_as_times_and_weekdays(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    answer = client_as(Role.OPERATOR).post(
        url(workspace, "new/?kind=away"),
        {
            "name": "営業時間外",
            "enabled": "on",
            "open_days": ["0", "1", "2", "4", "5"],
            "opens_at": "10:00",
            "closes_at": "19:30",
            "m0-kind": "text",
            "m0-text": "本日の営業は終了しました",
        },
    )
    assert answer.status_code == 302
    rule = Rule.objects.get()
    assert rule.open_days == [0, 1, 2, 4, 5]
    assert (rule.opens_at.isoformat(), rule.closes_at.isoformat()) == ("10:00:00", "19:30:00")  # type: ignore[union-attr]


def test_moving_a_rule_up_and_turning_it_off(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    first = keyword_rule(workspace, "一", ["a"], "1")
    second = keyword_rule(workspace, "二", ["b"], "2")
    client = client_as(Role.OPERATOR)
    assert client.post(url(workspace, f"{second.pk}/up/")).status_code == 302
    assert list(Rule.objects.in_order().values_list("pk", flat=True)) == [second.pk, first.pk]
    client.post(url(workspace, f"{second.pk}/disable/"))
    assert Rule.objects.get(pk=second.pk).enabled is False
    assert client_as(Role.VIEWER).post(url(workspace, f"{first.pk}/up/")).status_code == 403


def test_the_test_box_names_the_rule_that_would_answer(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    keyword_rule(workspace, "予約の案内", ["予約"], "ご予約はこちら")
    page = client_as(Role.VIEWER).get(url(workspace), {"text": "予約"})
    body = page.content.decode()
    assert 'data-testid="try-result"' in body and "予約の案内" in body and "ご予約はこちら" in body
    nothing = client_as(Role.VIEWER).get(url(workspace), {"text": "こんにちは"}).content.decode()
    assert "答えるルールはありません" in nothing


def test_editing_keeps_the_kind_and_checks_the_whole_rule(workspace: Workspace) -> None:
    rule = services.create_rule(
        workspace, {"kind": "welcome", "name": "あいさつ", "messages": [text("ようこそ")]}
    )
    with pytest.raises(services.RuleError) as refused:
        services.update_rule(rule, {"messages": [text("x")] * 5, "invite_unlinked": True})
    assert refused.value.problems[0][0] == "messages"
    services.update_rule(rule, {"messages": [text("x")] * 4, "invite_unlinked": True})
    assert Rule.objects.get().invite_unlinked is True


@pytest.mark.parametrize("kind", ["welcome", "keyword", "postback", "away"])
def test_each_kind_has_a_form_and_an_edit_page_with_its_values(
    workspace: Workspace, client_as: Callable[[Role], Client], kind: str
) -> None:
    client = client_as(Role.OPERATOR)
    assert client.get(url(workspace, f"new/?kind={kind}")).status_code == 200
    by_kind: dict[str, dict[str, Any]] = {
        "welcome": {"invite_unlinked": True},
        "keyword": {"keywords": ["予約"]},
        "postback": {"postback_key": "action", "postback_value": "reserve"},
        "away": {"open_days": [1], "opens_at": "09:00", "closes_at": "18:00"},
    }
    fields = by_kind[kind]
    rule = services.create_rule(
        workspace,
        {"kind": kind, "name": f"{kind}の例", "messages": [text("こんにちは")], **fields},
    )
    page = client.get(url(workspace, f"{rule.pk}/"))
    body = page.content.decode()
    assert page.status_code == 200 and f"{kind}の例" in body and "こんにちは" in body
    assert "応答メッセージは配信数にカウントされません" in body
    assert client.get(url(workspace, "new/?kind=nonsense")).status_code == 404
