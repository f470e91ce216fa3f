"""`otodoke --help` lists Otodoke's commands, and each one it lists exists."""

from __future__ import annotations

import re

import pytest
from django.core.management import get_commands

from otodoke.cli import OVERVIEW, main


def test_every_listed_command_exists_and_the_api_commands_are_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--help"]) == 0
    listed = set(re.findall(r"^  ([a-z][a-z-]+)\s{2,}", capsys.readouterr().out, re.MULTILINE))
    assert {"contact", "event", "tag", "segment", "audience", "campaign", "api-token"} <= listed
    assert listed - {"emulator"} <= set(get_commands()), listed - set(get_commands())
    assert OVERVIEW.count("\n") < 60
