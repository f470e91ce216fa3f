"""`otodoke --help` lists Otodoke's commands, and each one it lists exists."""

from __future__ import annotations

import re

import pytest
from django.core.management import get_commands

from otodoke.cli import main


def test_every_listed_command_exists_and_the_api_commands_are_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--lang", "en", "--help"]) == 0
    overview = capsys.readouterr().out
    listed = set(re.findall(r"^  ([a-z][a-z-]+)\s{2,}", overview, re.MULTILINE))
    assert {"contact", "event", "tag", "segment", "audience", "campaign", "api-token"} <= listed
    assert listed - {"emulator"} <= set(get_commands()), listed - set(get_commands())
    assert overview.count("\n") < 60
    assert "makemigrations" not in overview  # not Django's whole command list
