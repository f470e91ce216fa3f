"""Message validation with LINE's limits, and sandboxed personalisation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from otodoke.messaging.links import click_token, find_links, parse_click_token, rewrite_links
from otodoke.messaging.personalize import (
    ENV,
    TemplateProblem,
    check_templates,
    compile_messages,
    is_personalised,
    recipient_context,
)
from otodoke.messaging.validation import MessageValidationError, message_problems, validate_messages


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def test_too_long_text_names_index_field_and_limit() -> None:
    problems = message_problems(
        [{"type": "text", "text": "ok"}, {"type": "text", "text": "🍎" * 2506}]
    )
    assert [str(p) for p in problems] == [
        "messages[1].text: 5,012 characters (UTF-16) — LINE allows 5,000"
    ]


def test_more_than_five_messages_and_bad_shapes_are_rejected() -> None:
    with pytest.raises(MessageValidationError) as info:
        validate_messages([{"type": "text", "text": "a"}] * 6)
    assert info.value.problems[0].path == "messages"
    paths = {p.path for p in message_problems([{"type": "text"}, {"type": "bogus"}])}
    assert paths == {"messages[0].text", "messages[1].type"}


def test_template_and_flex_limits() -> None:
    buttons = {
        "type": "template",
        "altText": "x",
        "template": {
            "type": "buttons",
            "text": "t",
            "actions": [{"type": "uri", "label": "l", "uri": "https://a.example"}] * 5,
        },
    }
    flex = {
        "type": "flex",
        "altText": "x",
        "contents": {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "contents": [{"type": "text", "text": "x" * 31000}],
            },
        },
    }
    paths = [p.path for p in message_problems([buttons, flex])]
    assert paths == ["messages[0].template.actions", "messages[1].contents"]


def test_template_syntax_errors_are_rejected_at_save_time() -> None:
    with pytest.raises(TemplateProblem) as info:
        check_templates([{"type": "text", "text": "{{ name "}])
    assert info.value.path == "messages[0].text"


def test_rendering_uses_the_name_attributes_and_defaults() -> None:
    compiled = compile_messages(
        [
            {
                "type": "text",
                "text": '{{ name | default("お客様") }}様 {{ attributes.rank }}{{ nothing.deep }}',
            }
        ]
    )
    assert compiled.render(recipient_context("山田", {"rank": "gold"}))[0]["text"] == "山田様 gold"
    assert compiled.render(recipient_context("", {}))[0]["text"] == "お客様様 "


def test_the_sandbox_reads_nothing_but_the_context() -> None:
    # Such templates are refused when saved (below); the sandbox still holds on its own.
    escape = "{{ ''.__class__.__mro__ }}{{ config }}{{ range.__globals__ }}"
    # Unsafe attributes and unknown names render as nothing: nothing leaks, nothing raises.
    assert ENV.from_string(escape).render(recipient_context("x", {})) == ""
    with pytest.raises(OverflowError):
        ENV.from_string("{{ 'x' * 100000000 }}").render({})
    for text in (escape, "{{ 'x' * 100000000 }}"):
        with pytest.raises(TemplateProblem):
            compile_messages([{"type": "text", "text": text}])


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            "{% for %}",
        ),
        ("{% macro m() %}x{% endmacro %}{{ m() }}", "{% macro %}"),
        ("{% set x = name %}{{ x }}", "{% set %}"),
        ("{% include 'secret.html' %}", "{% include %}"),
        ("{{ name.upper() }}", "function calls"),
        ("{{ lipsum(100000) }}", "function calls"),
        ("{{ range }}", "range"),
        ("{{ name * 100 }}", "arithmetic"),
        ("{{ name ~ name }}", "arithmetic"),
        ("{{ ''.__class__ }}", ".__class__"),
        ("{{ 'abc'.upper }}", "lookups on anything but a placeholder"),
        ("{{ attributes[name] }}", "lookups by anything but a fixed key"),
        ("{{ name | replace('a', 'aaaaaaaa') }}", "| replace"),
        ("{{ name | default(name, boolean=true) }}", "| default"),
        ("{% if name is divisibleby(3) %}x{% endif %}", "is divisibleby"),
        ("{{ [name] * 3 }}", "arithmetic"),
    ],
)
def test_templates_outside_the_placeholder_language_are_refused_with_message_and_field(
    text: str, refused: str
) -> None:
    messages: list[dict[str, Any]] = [
        {"type": "text", "text": "plain"},
        {
            "type": "template",
            "altText": "x",
            "template": {"type": "confirm", "text": text, "actions": []},
        },
    ]
    with pytest.raises(TemplateProblem) as info:
        check_templates(messages)
    assert info.value.path == "messages[1].template.text"
    assert f"“{refused}” is not allowed in a placeholder" in str(info.value)
    assert str(info.value).startswith("messages[1].template.text: ")


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ('{{ name | default("お客様") }}様', "山田様"),
        ("{{ name | d('x') | upper }}", "山田"),
        ("{{ attributes.rank }}/{{ attributes['会員ランク'] }}", "gold/プラチナ"),
        ("{{ attributes.missing.deep | default('-') }}", "-"),
        ("{% if attributes.rank == 'gold' %}特典{% elif name %}通常{% else %}-{% endif %}", "特典"),
        ("{{ '会員' if attributes.rank is defined and not attributes.no else '' }}", "会員"),
        ("{% if 'g' in attributes.rank %}g{% endif %}{# a comment #}", "g"),
        ("{% raw %}{{ not a placeholder }}{% endraw %}", "{{ not a placeholder }}"),
    ],
)
def test_documented_placeholders_are_accepted_and_render(text: str, rendered: str) -> None:
    messages = [{"type": "text", "text": text}]
    check_templates(messages)
    context = recipient_context("山田", {"rank": "gold", "会員ランク": "プラチナ"})
    assert compile_messages(messages).render(context)[0]["text"] == rendered


def test_personalised_only_when_rendering_depends_on_the_recipient() -> None:
    assert is_personalised([{"type": "text", "text": "{{ name }}"}])
    assert not is_personalised([{"type": "text", "text": "{{ 'fixed' }} text"}])
    assert not is_personalised([{"type": "text", "text": "plain"}])


def test_links_are_found_and_rewritten_but_media_urls_are_not() -> None:
    messages: list[dict[str, Any]] = [
        {"type": "text", "text": "see https://shop.example/a and https://shop.example/a"},
        {
            "type": "image",
            "originalContentUrl": "https://cdn.example/i.png",
            "previewImageUrl": "https://cdn.example/p.png",
        },
        {
            "type": "template",
            "altText": "x",
            "template": {
                "type": "buttons",
                "text": "t",
                "actions": [{"type": "uri", "label": "go", "uri": "https://shop.example/b"}],
            },
        },
    ]
    assert find_links(messages) == ["https://shop.example/a", "https://shop.example/b"]
    out = rewrite_links(messages, {"https://shop.example/a": "R1", "https://shop.example/b": "R2"})
    assert out[0]["text"] == "see R1 and R1"
    assert out[1] == messages[1]
    assert out[2]["template"]["actions"][0]["uri"] == "R2"


def test_click_tokens_are_signed() -> None:
    token = click_token(12, 345)
    assert parse_click_token(token) == (12, 345)
    link, contact, sig = token.split("-")
    assert parse_click_token(f"{link}-{contact}1-{sig}") is None
    assert parse_click_token("garbage") is None


MESSAGE_ACTION = {"type": "message", "label": "はい", "text": "はい"}
IMAGE = {
    "type": "image",
    "originalContentUrl": "https://cdn.example/i.jpg",
    "previewImageUrl": "https://cdn.example/p.jpg",
}


def only_problem(messages: list[dict[str, Any]]) -> str:
    problems = message_problems(messages)
    assert len(problems) == 1, problems
    return str(problems[0])


def test_video_tracking_id_longer_than_lines_limit() -> None:
    video = {
        "type": "video",
        "originalContentUrl": "https://cdn.example/v.mp4",
        "previewImageUrl": "https://cdn.example/v.jpg",
        "trackingId": "t" * 101,
    }
    assert message_problems([dict(video, trackingId="t" * 100)]) == []
    assert only_problem([IMAGE, video]) == (
        "messages[1].trackingId: 101 characters (UTF-16) — LINE allows 100"
    )


def test_imagemap_with_more_actions_than_line_allows() -> None:
    action = {
        "type": "uri",
        "linkUri": "https://shop.example/",
        "area": {"x": 0, "y": 0, "width": 520, "height": 520},
    }
    imagemap = {
        "type": "imagemap",
        "baseUrl": "https://cdn.example/map",
        "altText": "春のセール",
        "baseSize": {"width": 1040, "height": 1040},
        "actions": [action] * 51,
    }
    assert message_problems([dict(imagemap, actions=[action] * 50)]) == []
    assert only_problem([imagemap]) == "messages[0].actions: 51 items — LINE allows 50"
    long_link = dict(action, linkUri="https://shop.example/" + "a" * 1000)
    assert only_problem([IMAGE, IMAGE, dict(imagemap, actions=[long_link])]) == (
        "messages[2].actions[0].linkUri: 1,021 characters (UTF-16) — LINE allows 1,000"
    )


def test_confirm_template_text_and_action_count() -> None:
    def confirm(text: str, actions: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "type": "template",
            "altText": "確認",
            "template": {"type": "confirm", "text": text, "actions": actions},
        }

    assert message_problems([confirm("よろしいですか", [MESSAGE_ACTION] * 2)]) == []
    assert only_problem([confirm("あ" * 241, [MESSAGE_ACTION] * 2)]) == (
        "messages[0].template.text: 241 characters (UTF-16) — LINE allows 240"
    )
    assert only_problem([IMAGE, confirm("?", [MESSAGE_ACTION] * 3)]) == (
        "messages[1].template.actions: 3 items — LINE allows 2"
    )
    assert only_problem([confirm("?", [MESSAGE_ACTION])]) == (
        "messages[0].template.actions: 1 items — LINE requires exactly 2"
    )


def test_carousel_template_with_more_than_ten_columns() -> None:
    column = {"text": "商品", "actions": [MESSAGE_ACTION]}
    carousel = {
        "type": "template",
        "altText": "おすすめ",
        "template": {"type": "carousel", "columns": [column] * 11},
    }
    assert (
        message_problems([{**carousel, "template": {"type": "carousel", "columns": [column] * 10}}])
        == []
    )
    assert only_problem([IMAGE, carousel]) == (
        "messages[1].template.columns: 11 items — LINE allows 10"
    )


@pytest.mark.parametrize(
    ("message", "path"),
    [
        (
            dict(IMAGE, originalContentUrl="http://cdn.example/i.jpg"),
            "messages[0].originalContentUrl",
        ),
        (dict(IMAGE, previewImageUrl="ftp://cdn.example/p.jpg"), "messages[0].previewImageUrl"),
        (
            {
                "type": "video",
                "originalContentUrl": "http://cdn.example/v.mp4",
                "previewImageUrl": "https://cdn.example/v.jpg",
            },
            "messages[0].originalContentUrl",
        ),
        (
            {
                "type": "template",
                "altText": "x",
                "template": {
                    "type": "buttons",
                    "thumbnailImageUrl": "http://cdn.example/t.jpg",
                    "text": "t",
                    "actions": [MESSAGE_ACTION],
                },
            },
            "messages[0].template.thumbnailImageUrl",
        ),
    ],
)
def test_media_urls_must_be_https(message: dict[str, Any], path: str) -> None:
    assert only_problem([message]) == f"{path}: not an HTTPS URL — LINE accepts only https://"
