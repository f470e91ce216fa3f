"""What LINE rejects is refused before sending, with the field's full path (issue 12.32): a
quick-reply button without an action, a textV2 `{key}` without a substitution, an emoji index
that does not point at a `$`, and Flex problems named where they are in the tree. Each case is
also sent to the LINE emulator over HTTP, which refuses it with the same property, as LINE
does; the corrected message passes both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.utils import translation

from line_emulator.testing import TEST_TOKEN, EmulatorServer, emulator, emulator_server
from otodoke.messaging.validation import message_problems

__all__ = ["emulator", "emulator_server"]

EMOJI = {"productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}
MENTION_ALL = {"type": "mention", "mentionee": {"type": "all"}}


def _flex(body: dict[str, Any]) -> dict[str, Any]:
    return {"type": "flex", "altText": "お知らせ", "contents": {"type": "bubble", "body": body}}


# (refused message, its property, the same message as LINE accepts it)
CASES: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "quick reply without action": (
        {"type": "text", "text": "どれにしますか", "quickReply": {"items": [{"type": "action"}]}},
        "messages[0].quickReply.items[0].action",
        {
            "type": "text",
            "text": "どれにしますか",
            "quickReply": {
                "items": [
                    {"type": "action", "action": {"type": "message", "label": "A", "text": "A"}}
                ]
            },
        },
    ),
    "textV2 placeholder without substitution": (
        {"type": "textV2", "text": "{all} セール {sale}", "substitution": {"all": MENTION_ALL}},
        "messages[0].text",
        {
            "type": "textV2",
            "text": "{all} セール {sale} {{literal}}",
            "substitution": {"all": MENTION_ALL, "sale": {"type": "emoji", **EMOJI}},
        },
    ),
    "emoji index not at a dollar": (
        # 🌸 is two UTF-16 units: the `$` is at 3, not 2.
        {"type": "text", "text": "🌸 $", "emojis": [{**EMOJI, "index": 2}]},
        "messages[0].emojis[0].index",
        {"type": "text", "text": "🌸 $", "emojis": [{**EMOJI, "index": 3}]},
    ),
    "flex box layout": (
        _flex({"type": "box", "layout": "sideways", "contents": [{"type": "text", "text": "x"}]}),
        "messages[0].contents.body.layout",
        _flex({"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "x"}]}),
    ),
    "flex box without layout": (
        _flex({"type": "box", "contents": [{"type": "text", "text": "x"}]}),
        "messages[0].contents.body.layout",
        _flex({"type": "box", "layout": "baseline", "contents": [{"type": "text", "text": "x"}]}),
    ),
    "flex text without text, deep in the tree": (
        _flex(
            {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {"type": "box", "layout": "horizontal", "contents": [{"type": "text"}]}
                ],
            }
        ),
        "messages[0].contents.body.contents[0].contents[0].text",
        _flex(
            {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {
                        "type": "box",
                        "layout": "horizontal",
                        "contents": [{"type": "text", "text": "y"}],
                    }
                ],
            }
        ),
    ),
}


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=emulator.url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=10
    ) as client:
        yield client


@pytest.mark.parametrize("case", list(CASES))
def test_otodoke_refuses_it_with_the_full_path_and_so_does_line(
    line: httpx.Client, case: str
) -> None:
    refused, prop, accepted = CASES[case]
    assert [p.path for p in message_problems([refused])] == [prop]
    assert message_problems([accepted]) == []

    answer = line.post("/v2/bot/message/validate/push", json={"messages": [refused]})
    assert answer.status_code == 400, answer.text
    assert [d["property"] for d in answer.json()["details"]] == [prop]
    fine = line.post("/v2/bot/message/validate/push", json={"messages": [accepted]})
    assert fine.status_code == 200, fine.text


@translation.override("en")
def test_the_messages_name_lines_rule() -> None:
    messages = {case: message_problems([CASES[case][0]])[0].message for case in CASES}
    assert "quick-reply button needs an action" in messages["quick reply without action"]
    assert (
        "{sale} has no entry in substitution"
        in (messages["textV2 placeholder without substitution"])
    )
    assert "UTF-16" in messages["emoji index not at a dollar"]
    assert "horizontal" in messages["flex box layout"]


def test_the_refusals_are_japanese_by_default() -> None:
    with translation.override("ja"):
        problems = [message_problems([CASES[case][0]])[0].message for case in CASES]
    assert "アクション" in problems[0]
    assert "substitution" in problems[1] and "プレースホルダー" in problems[1]
    assert "$" in problems[2] and "UTF-16" in problems[2]


def test_otodoke_placeholders_in_textv2_are_not_line_placeholders_nor_render_into_one() -> None:
    message = {
        "type": "textV2",
        "text": "{{ name }}さん {all}",
        "substitution": {"all": MENTION_ALL},
    }
    assert message_problems([message]) == []
