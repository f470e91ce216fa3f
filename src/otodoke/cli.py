"""The `otodoke` command: Otodoke's own subcommands over Django's management commands.

`otodoke emulator` runs the standalone LINE emulator without loading Django at all; every other
subcommand is a management command, so `otodoke migrate` or `otodoke shell` work too.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from django.utils.translation import gettext as _


def gettext_noop(message: str) -> str:
    """Marks a msgid (makemessages knows the name) without needing Django's settings: this
    module is imported before they are configured."""
    return message


# (group, [(command, one-line description)]): `otodoke --help`. Descriptions are msgids, drawn
# in the CLI's language.
COMMANDS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        gettext_noop("Running Otodoke"),
        [
            ("serve", gettext_noop("the web app (UI, REST API, LINE webhook, click redirector)")),
            (
                "worker",
                gettext_noop(
                    "a background worker (sends, imports, webhooks); run as many as you like"
                ),
            ),
            (
                "emulator",
                gettext_noop("the built-in LINE platform emulator (no LINE account needed)"),
            ),
            (
                "demo",
                gettext_noop("web app + worker + emulator + demo data on SQLite, in one command"),
            ),
        ],
    ),
    (
        gettext_noop("Setting up"),
        [
            (
                "init",
                gettext_noop("generate SECRET_KEY and the encryption key into the data folder"),
            ),
            ("migrate", gettext_noop("create or update the database tables")),
            (
                "workspace",
                gettext_noop("create and list workspaces (one per LINE Official Account)"),
            ),
            (
                "member",
                gettext_noop(
                    "staff logins and roles: add, invite (a single-use link), list, role, remove"
                ),
            ),
            (
                "createsuperuser",
                gettext_noop(
                    "a Django superuser, only for /admin/ (off unless OTODOKE_ADMIN=true)"
                ),
            ),
            ("api-token", gettext_noop("create, list and revoke REST API tokens; check one (me)")),
        ],
    ),
    (
        gettext_noop("Data in and out"),
        [
            (
                "import",
                gettext_noop(
                    "import contacts, events or customer-number-to-LINE-ID links from CSV"
                ),
            ),
            (
                "contact",
                gettext_noop("search, get and upsert contacts; bulk upsert from a JSON/JSONL file"),
            ),
            (
                "event",
                gettext_noop(
                    "bulk-ingest events from a JSON/JSONL file (idempotent by external ID)"
                ),
            ),
            ("tag", gettext_noop("list tags; add or remove tags on many contacts")),
            (
                "images",
                gettext_noop("hosted images for messages: list; cleanup deletes unused ones"),
            ),
            ("line", gettext_noop("LINE friends: sync-friends pulls followers and profiles")),
            ("webhooks", gettext_noop("re-run stored LINE webhook events that failed")),
            (
                "segment",
                gettext_noop("list, create, get, update, delete, count and preview segments"),
            ),
            (
                "audience",
                gettext_noop(
                    "create frozen audiences (file, segment, contact IDs); list and get them"
                ),
            ),
            (
                "export",
                gettext_noop("LINE user-ID and Business Manager e-mail/phone files (audited)"),
            ),
        ],
    ),
    (
        gettext_noop("Sending messages"),
        [
            (
                "campaign",
                gettext_noop(
                    "create, test, schedule, send, resume and cancel campaigns; status, "
                    "recipients, clicks"
                ),
            ),
            (
                "scenario",
                gettext_noop(
                    "automations: create (JSON or template), activate, pause, archive, stats, "
                    "a contact's enrolments; tick runs the scheduler once"
                ),
            ),
            (
                "chat",
                gettext_noop("the 1:1 chat inbox: list conversations, show one, reply to a friend"),
            ),
            (
                "autoreply",
                gettext_noop(
                    "auto-replies: welcome, keyword, postback and out-of-hours rules; order, "
                    "test a message, recent answers"
                ),
            ),
        ],
    ),
]


def overview() -> str:
    """`otodoke --help`: Otodoke's own commands with one line each, in the CLI's language."""
    lines = [_("usage: otodoke <command> [options]   (otodoke <command> --help for details)"), ""]
    for group, commands in COMMANDS:
        lines.append(_(group))
        lines += [f"  {name:<16} {_(about)}" for name, about in commands]
        lines.append("")
    lines.append(
        _(
            "The API's operations take --workspace SLUG, --json (the API's JSON) and --as "
            "USERNAME (act as a staff login; needed to see or filter by personal data)."
        )
    )
    lines.append(_("--lang ja|en picks the language (default: LANG, else Japanese)."))
    lines.append(_("Every Django management command is available too (otodoke help --all)."))
    return "\n".join(lines) + "\n"


LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"


def pick_language(args: list[str], environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """The CLI's language and the arguments without `--lang`: `--lang ja|en` wins, else the
    locale environment (LC_ALL, LC_MESSAGES, LANG: `en_US.UTF-8` is English), else Japanese,
    as the UI. `C`/`POSIX` name no language."""
    rest: list[str] = []
    chosen: str | None = None
    it = iter(args)
    for arg in it:
        if arg == "--":
            rest.append(arg)
            rest.extend(it)
            break
        if arg == "--lang":
            chosen = next(it, "")
        elif arg.startswith("--lang="):
            chosen = arg.partition("=")[2]
        else:
            rest.append(arg)
    if chosen is not None:
        code = chosen.lower().replace("_", "-").split("-")[0]
        return (code if code in LANGUAGES else DEFAULT_LANGUAGE), rest
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(variable, "")
        if value:
            code = value.split(".")[0].split("_")[0].lower()
            return (code if code in LANGUAGES else DEFAULT_LANGUAGE), rest
    return DEFAULT_LANGUAGE, rest


# Long-running servers keep the site's language (LANGUAGE_CODE, and each request's own in the
# UI): what a worker writes (import errors, audit entries) must not depend on who started it.
_SERVERS = {"serve", "worker"}

# Commands that may create the local key file when the environment does not provide keys.
_KEY_CREATING = {"init", "demo"}


def main(argv: list[str] | None = None) -> int:
    language, args = pick_language(list(sys.argv[1:] if argv is None else argv), os.environ)
    if args and args[0] == "emulator":
        from line_emulator.cli import main as emulator_main

        return emulator_main(args[1:])
    if args[:2] == ["help", "--all"]:
        args = ["help"]
    elif not args or args[0] in {"-h", "--help"} or args == ["help"]:
        args = ["--help"]
    if args[0] in _KEY_CREATING and not os.environ.get("SECRET_KEY"):
        from otodoke.core.env import data_dir, ensure_local_keys, private_files

        private_files()  # the data folder this creates is 0700

        ensure_local_keys(data_dir())

    if _asks_for_help(args):
        _help_keys()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otodoke.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError
    from django.utils import translation

    try:
        django.setup()
        if args[0] not in _SERVERS:
            translation.activate(language)
            from otodoke.core.commands import translate_argparse

            translate_argparse()
        if args == ["--help"]:
            sys.stdout.write(overview())
            return 0
        from django.core.management import execute_from_command_line

        execute_from_command_line(["otodoke", *args])
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"otodoke: {_setup_problem(exc, language)}\n")
        return 2
    except DatabaseError as exc:
        if not _missing_table(exc):
            raise
        sys.stderr.write(
            "otodoke: " + _("the database is not set up yet. Run `otodoke migrate` first.") + "\n"
        )
        return 2
    return 0


_NO_SECRET_KEY = gettext_noop(
    "SECRET_KEY is not set. Set it in the environment (production) or run `otodoke init` to "
    "generate local keys into %(file)s"
)
_NO_ENCRYPTION_KEYS = gettext_noop(
    "OTODOKE_ENCRYPTION_KEYS is not set (comma-separated Fernet keys, newest first). "
    "Generate one with `otodoke init --print-keys`."
)


def _setup_problem(exc: Exception, language: str) -> str:
    """Settings fail before Django can translate anything. The problems a newcomer meets first
    (no keys yet) are told in the CLI's language from the same catalogue, read with the
    standard library; any other stays as the settings worded it."""
    import gettext
    from pathlib import Path

    from otodoke.core.env import KEYS_FILE, data_dir

    text = str(exc)
    catalogue = gettext.translation(
        "django", Path(__file__).parent / "locale", languages=[language], fallback=True
    )
    if text.startswith("SECRET_KEY is not set"):
        return catalogue.gettext(_NO_SECRET_KEY) % {"file": data_dir() / KEYS_FILE}
    if text.startswith("OTODOKE_ENCRYPTION_KEYS is not set"):
        return catalogue.gettext(_NO_ENCRYPTION_KEYS)
    return text


def _asks_for_help(args: list[str]) -> bool:
    return any(arg in {"-h", "--help"} for arg in args) or args[:1] == ["help"]


def _help_keys() -> None:
    """Help needs no real keys: when neither the environment nor the data folder has them, give
    this process throwaway ones so `--help` works before `otodoke init` (nothing is encrypted)."""
    from otodoke.core.env import KEYS_FILE, data_dir, generate_keys

    if os.environ.get("SECRET_KEY") or (data_dir() / KEYS_FILE).exists():
        return
    keys = generate_keys()
    os.environ["SECRET_KEY"] = keys["SECRET_KEY"]
    os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", keys["ENCRYPTION_KEYS"][0])


def _missing_table(exc: Exception) -> bool:
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


if __name__ == "__main__":
    raise SystemExit(main())
