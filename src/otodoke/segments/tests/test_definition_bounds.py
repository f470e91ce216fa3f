"""Definitions no database can answer are refused with their path, never a 500: dates outside
what datetimes hold, integers past 64 bits, NaN, text over the length limit or with NUL, and
JSON nested thousands of levels deep (API, services and CLI)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from otodoke.segments.schema import MAX_TEXT, DefinitionError, parse_definition
from otodoke.segments.services import count_segment
from otodoke.segments.tests.conftest import MakeContact, Match, tag
from otodoke.workspaces.models import Workspace


def _problem(where: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition({"version": 1, "where": where})
    # A union field (a value or a list of values) may report once per member; the first says it.
    problem = caught.value.problems[0]
    return problem.path, problem.message


def _nested_text(levels: int) -> str:
    """The JSON text of _nested(levels), written without json.dumps (which would overflow)."""
    leaf = '{"kind": "gender", "values": ["female"]}'
    return (
        '{"version": 1, "where": '
        + '{"kind": "not", "condition": ' * levels
        + leaf
        + "}" * levels
        + "}"
    )


def _nested(levels: int) -> dict[str, Any]:
    where: dict[str, Any] = {"kind": "gender", "values": ["female"]}
    for _ in range(levels):
        where = {"kind": "not", "condition": where}
    return {"version": 1, "where": where}


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ({"kind": "last_visit", "op": "before", "date": "0001-01-01"}, "$.where.date"),
        ({"kind": "event", "event": "visit", "until": "9999-12-31"}, "$.where.until"),
        ({"kind": "event", "event": "visit", "since": "1899-12-31"}, "$.where.since"),
    ],
)
def test_a_date_outside_1900_to_2999_is_refused_with_its_path(
    workspace: Workspace, where: dict[str, Any], path: str
) -> None:
    assert _problem(where)[0] == path
    with pytest.raises(DefinitionError):
        count_segment(workspace, {"version": 1, "where": where})


def test_the_first_and_last_allowed_dates_are_answered(workspace: Workspace, match: Match) -> None:
    assert match({"kind": "last_visit", "op": "before", "date": "1900-01-01"}) == set()
    assert match({"kind": "event", "event": "visit", "until": "2999-12-31"}) == set()


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ({"kind": "event", "event": "visit", "value": 2**70}, "$.where.value"),
        (
            {"kind": "event", "event": "visit", "measure": "amount", "value": 2**63},
            "$.where.value",
        ),
        (
            {
                "kind": "event",
                "event": "visit",
                "where": [{"key": "p", "op": "gte", "value": 2**70}],
            },
            "$.where.where[0].value",
        ),
        ({"kind": "attribute", "key": "n", "op": "equals", "value": -(2**64)}, "$.where.value"),
        ({"kind": "total_spent", "max": 2**70}, "$.where.max"),
        ({"kind": "in_audience", "audience_id": 2**70}, "$.where.audience_id"),
    ],
)
def test_an_integer_past_64_bits_is_refused(where: dict[str, Any], path: str) -> None:
    found, message = _problem(where)
    assert found.startswith(path)
    assert "64" in message or "less than or equal to 9223372036854775807" in message


def test_the_largest_64_bit_value_is_answered_on_the_database(
    make_contact: MakeContact, match: Match
) -> None:
    make_contact()
    big = 2**63 - 1
    assert match({"kind": "event", "event": "visit", "measure": "amount", "value": big}) == set()
    where = [{"key": "p", "op": "lte", "value": big}]
    assert match({"kind": "event", "event": "visit", "where": where}) == set()


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(number: float) -> None:
    path, message = _problem({"kind": "attribute", "key": "x", "op": "equals", "value": number})
    assert path.startswith("$.where.value")
    assert "NaN" in message


def test_a_contains_value_over_the_text_limit_is_refused_and_at_the_limit_answers(
    make_contact: MakeContact, match: Match
) -> None:
    long_value = "あ" * MAX_TEXT
    c = make_contact(attributes={"memo": "x" + long_value})
    make_contact(attributes={"memo": "short"})
    where = {"kind": "attribute", "key": "memo", "op": "contains", "value": long_value}
    # 1,000 Japanese characters are 3,000 bytes of LIKE pattern: well inside SQLite's limit.
    assert match(where) == {c.pk}
    path, message = _problem({**where, "value": "a" * 60_000})
    assert path.startswith("$.where.value")
    assert "at most 1,000 characters (this has 60,000)" in message


@pytest.mark.parametrize("name", ["a\x00b", "\ud800"])
def test_a_tag_name_with_nul_or_a_lone_surrogate_is_refused(
    make_contact: MakeContact, match: Match, name: str
) -> None:
    tag(make_contact(), "VIP")
    path, message = _problem({"kind": "tags", "match": "any", "names": ["VIP", name]})
    assert path == "$.where.names[1]"
    assert "NUL" in message
    assert match({"kind": "tags", "match": "any", "names": ["VIP"]})


@translation.override("en")
def test_a_definition_nested_thousands_deep_is_refused_not_a_recursion_error() -> None:
    deep = _nested(5000)
    for data in (deep, _nested_text(5000)):
        with pytest.raises(DefinitionError) as caught:
            parse_definition(data)
        assert caught.value.as_json() == [{"path": "$", "message": "Nested deeper than 44 levels"}]
    # Twenty nested groups are still a definition.
    assert parse_definition(_nested(20)).version == 1


def test_the_cli_refuses_a_definition_nested_5000_deep(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "deep.json"
    path.write_text(_nested_text(300))
    with pytest.raises(CommandError, match=r"Nested deeper than|入れ子が"):
        call_command("segment", "count", "--workspace", "salon", "--definition", str(path))
    # Deeper than the JSON reader itself allows (a RecursionError in Python's json).
    path.write_text(_nested_text(5000))
    with pytest.raises(CommandError, match=r"Nested deeper than|入れ子が"):
        call_command("segment", "count", "--workspace", "salon", "--definition", str(path))
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "segment",
            "create",
            "--workspace",
            "salon",
            "--json",
            "--name",
            "x",
            "--definition",
            str(path),
            stdout=out,
        )
    assert re.search("Nested deeper than|入れ子が", json.loads(out.getvalue())["error"]["message"])
