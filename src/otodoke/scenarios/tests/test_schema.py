"""A scenario definition is checked as a whole, and every problem names its JSON path."""

from __future__ import annotations

import pytest

from otodoke.scenarios.schema import SpecError, parse_spec

SEND = {"type": "send", "messages": [{"type": "text", "text": "hi"}]}


def _problems(data: object) -> dict[str, str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(data)
    return {p.path: p.message for p in caught.value.problems}


def test_a_valid_definition_parses_with_defaults() -> None:
    spec = parse_spec({"trigger": {"kind": "friend_added"}, "steps": [SEND]})
    assert spec.entry_rule == "once"
    assert spec.trigger.parsed().include_refollow is True


def test_message_problems_are_reported_under_the_step() -> None:
    long = {"type": "send", "messages": [{"type": "text", "text": "x" * 5001}]}
    problems = _problems({"trigger": {"kind": "friend_added"}, "steps": [SEND, long]})
    assert any(path.startswith("$.steps[1].messages[0]") for path in problems), problems


def test_branches_only_jump_forward() -> None:
    branch = {
        "type": "branch",
        "condition": {"version": 1, "where": {"kind": "consent", "value": True}},
        "then": 0,
    }
    problems = _problems({"trigger": {"kind": "friend_added"}, "steps": [SEND, branch]})
    assert "$.steps[1].then" in problems


def test_trigger_params_and_entry_rules_are_checked() -> None:
    problems = _problems({"trigger": {"kind": "tag_added", "params": {}}, "steps": [SEND]})
    assert problems == {"$.trigger.params.tag": "Field required"}
    problems = _problems(
        {"trigger": {"kind": "friend_added"}, "entry_rule": "after_days", "steps": [SEND]}
    )
    assert problems == {"$": "entry rule after_days needs reentry_days"}


def test_a_bad_condition_names_its_path() -> None:
    problems = _problems(
        {
            "trigger": {"kind": "friend_added"},
            "conditions": {"version": 1, "where": {"kind": "age", "min": -1}},
            "steps": [SEND],
        }
    )
    assert any(p.startswith("$.conditions.where") for p in problems), problems


def test_an_unknown_event_kind_is_refused() -> None:
    problems = _problems(
        {"trigger": {"kind": "event", "params": {"event": "buy"}}, "steps": [SEND]}
    )
    assert list(problems) == ["$.trigger.params.event"]
    assert "not an event kind" in problems["$.trigger.params.event"]


def test_problems_are_in_the_users_language() -> None:
    from django.utils import translation

    with translation.override("ja"):
        problems = _problems({"trigger": {"kind": "friend_added"}, "steps": [{"type": "wait"}]})
    assert problems == {"$.steps[0]": "待機には日数・時間・分のいずれかが必要です"}
