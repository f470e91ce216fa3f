"""URI actions accept only the schemes LINE documents (http, https, line, tel), anywhere in a
message, and the error names LINE's rule and the field."""

from __future__ import annotations

from typing import Any

import pytest

from otodoke.messaging.validation import message_problems


def _buttons(uri: Any) -> list[dict[str, Any]]:
    action: dict[str, Any] = {"type": "uri", "label": "開く"}
    if uri is not None:
        action["uri"] = uri
    return [
        {
            "type": "template",
            "altText": "お知らせ",
            "template": {"type": "buttons", "text": "ご予約", "actions": [action]},
        }
    ]


@pytest.mark.parametrize(
    "uri", ["javascript:alert(1)", "JavaScript:alert(1)", "file:///etc/passwd", "data:text/html,x"]
)
def test_a_dangerous_scheme_is_refused_naming_lines_rule(uri: str) -> None:
    problems = message_problems(_buttons(uri))
    assert [p.path for p in problems] == ["messages[0].template.actions[0].uri"]
    assert all(scheme in problems[0].message for scheme in ("https", "line", "tel"))  # ja or en


@pytest.mark.parametrize(
    "uri", ["https://example.jp/a", "http://example.jp", "tel:0312345678", "line://nv/location"]
)
def test_the_schemes_line_allows_pass(uri: str) -> None:
    assert message_problems(_buttons(uri)) == []


def test_a_uri_action_without_uri_is_refused() -> None:
    problems = message_problems(_buttons(None))
    assert [p.path for p in problems] == ["messages[0].template.actions[0].uri"]


def test_a_placeholder_uri_is_left_for_the_render_check() -> None:
    assert message_problems(_buttons("{{ attributes.url }}")) == []


def test_an_imagemap_link_and_a_quick_reply_are_checked_too() -> None:
    messages = [
        {
            "type": "imagemap",
            "baseUrl": "https://example.jp/img",
            "altText": "地図",
            "baseSize": {"width": 1040, "height": 1040},
            "actions": [
                {
                    "type": "uri",
                    "linkUri": "javascript:x",
                    "area": {"x": 0, "y": 0, "width": 10, "height": 10},
                }
            ],
        },
        {
            "type": "text",
            "text": "どうぞ",
            "quickReply": {
                "items": [
                    {"type": "action", "action": {"type": "uri", "label": "a", "uri": "file:/x"}}
                ]
            },
        },
    ]
    paths = [p.path for p in message_problems(messages)]
    assert "messages[0].actions[0].linkUri" in paths
    assert "messages[1].quickReply.items[0].action.uri" in paths
