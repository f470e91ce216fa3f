"""The base of every `otodoke` subcommand.

Django gives each management command the same boilerplate options (--settings, --pythonpath,
--traceback, --no-color, --force-color, --skip-checks, -v/--verbosity, --version). They keep
working, but `otodoke COMMAND --help` does not list them, so the command's own options come
first. The command's description (`help`, a msgid marked with `gettext_noop`) and every option's and
subcommand's help are msgids too, translated into the CLI's language when the parser is built
(`otodoke.cli` activates it), so a translation in django.po is all a help text needs. A
subcommand (`segment count`) without a description of its own gets its one-line help as one.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext

BOILERPLATE_OPTIONS = frozenset(
    {
        "--version",
        "--verbosity",
        "--settings",
        "--pythonpath",
        "--traceback",
        "--no-color",
        "--force-color",
        "--skip-checks",
    }
)


def translate_argparse() -> None:
    """argparse's own words (usage:, options, "the following arguments are required") in the
    CLI's language too: argparse looks its module-level `_` up at each call."""
    argparse._ = gettext  # type: ignore[attr-defined]


class OtodokeCommand(BaseCommand):
    suppressed_base_arguments = set(BOILERPLATE_OPTIONS)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.help:
            parser.description = gettext(self.help)
        _translate(parser)
        return parser


def _translate(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if BOILERPLATE_OPTIONS & set(action.option_strings):
            action.help = argparse.SUPPRESS  # --skip-checks is added apart from the others
        elif isinstance(action.help, str) and action.help != argparse.SUPPRESS:
            action.help = gettext(action.help)
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a for a in action._choices_actions}
            for name, subparser in action.choices.items():
                pseudo = helps.get(name)
                if pseudo is not None and isinstance(pseudo.help, str):
                    pseudo.help = gettext(pseudo.help)
                if subparser.description:
                    subparser.description = gettext(subparser.description)
                elif pseudo is not None and isinstance(pseudo.help, str):
                    subparser.description = pseudo.help
                _translate(subparser)
