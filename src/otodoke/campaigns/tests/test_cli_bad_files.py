"""`otodoke campaign send|create` with message, target or definition files that are not what
they should be (issue 12.14): each is refused naming the file and the problem, in the user's
language, with nothing created; never a traceback."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otodoke.campaigns.models import Campaign
from otodoke.campaigns.tests.conftest import Line
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

GOOD = '[{"type": "text", "text": "こんにちは"}]'
DEEP = "[" * 5000 + "]" * 5000

BAD_MESSAGES = {
    "not JSON": ("{type: text}", "not valid JSON"),
    "NaN": ('[{"type": "text", "text": "x", "n": NaN}]', "NaN"),
    "nested 5,000 deep": (DEEP, "Nested deeper than 64 levels"),
    "NUL": ('[{"type": "text", "text": "a\\u0000b"}]', "NUL"),
    "not message objects": ('"hello"', "messages"),
    "numbers": ("[1, 2]", "messages[0]"),
    "no text": ('[{"type": "text"}]', "messages[0].text"),
    "empty file": ("", "not valid JSON"),
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path


def _send(*args: str) -> str:
    out = io.StringIO()
    call_command("campaign", "send", "--workspace", "salon", *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_campaign_send_refuses_a_bad_message_file_naming_the_problem(
    workspace: Workspace, line: Line, files: Path, case: str
) -> None:
    text, problem = BAD_MESSAGES[case]
    path = files / "message.json"
    path.write_text(text)
    with pytest.raises(CommandError) as caught:
        _send("--message", str(path), "--all-friends")
    assert problem in str(caught.value)
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_campaign_create_refuses_a_bad_message_file_with_a_json_error(
    workspace: Workspace, line: Line, files: Path, case: str
) -> None:
    text, problem = BAD_MESSAGES[case]
    path = files / "message.json"
    path.write_text(text)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "campaign", "create", "--workspace", "salon", "--name", "x", "--message", str(path),
            "--all-friends", "--json", stdout=out,
        )  # fmt: skip
    error = json.loads(out.getvalue())["error"]
    assert problem in json.dumps(error, ensure_ascii=False)
    assert not Campaign.objects.exists()


def test_a_missing_file_is_named(workspace: Workspace, line: Line, files: Path) -> None:
    missing = files / "nowhere.json"
    with pytest.raises(CommandError, match=r"nowhere\.json"):
        _send("--message", str(missing), "--all-friends")
    good = files / "message.json"
    good.write_text(GOOD)
    with pytest.raises(CommandError, match=r"nowhere\.json"):
        _send("--message", str(good), "--definition", str(missing))
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (DEEP, "Nested deeper than"),
        ('{"version": 1, "where": {"kind": "last_visit", "op": "before", "date": "0001-01-01"}}',
         "target.include[0].definition.where.date"),
        ('{"version": 1, "where": {"kind": "line_linked", "value": 1}}',
         "target.include[0].definition.where.value"),
        ("{not json", "not valid JSON"),
    ],
)  # fmt: skip
def test_campaign_send_refuses_a_bad_definition_file(
    workspace: Workspace, line: Line, files: Path, text: str, problem: str
) -> None:
    message, definition = files / "message.json", files / "segment.json"
    message.write_text(GOOD)
    definition.write_text(text)
    with pytest.raises(CommandError) as caught:
        _send("--message", str(message), "--definition", str(definition))
    assert problem in str(caught.value)
    assert not Campaign.objects.exists()


def test_a_good_file_still_sends(workspace: Workspace, line: Line, files: Path) -> None:
    path = files / "message.json"
    path.write_text(GOOD)
    _send("--message", str(path), "--all-friends")
    assert Campaign.objects.count() == 1
