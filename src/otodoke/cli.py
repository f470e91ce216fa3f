"""The `otodoke` command: Otodoke's own subcommands over Django's management commands.

`otodoke emulator` runs the standalone LINE emulator without loading Django at all; every other
subcommand is a management command, so `otodoke migrate` or `otodoke shell` work too.
"""

from __future__ import annotations

import os
import sys

OVERVIEW = """usage: otodoke <command> [options]   (otodoke <command> --help for details)

Running
  serve            the web app (UI, REST API, LINE webhook, click redirector)
  worker           a background worker (sends, imports, webhooks); run as many as you like
  emulator         the built-in LINE platform emulator (no LINE account needed)
  demo             web app + worker + emulator + demo data on SQLite, in one command

Setting up
  init             generate SECRET_KEY and the encryption key into the data folder
  migrate          create or update the database tables
  workspace        create and list workspaces (one per LINE Official Account)
  createsuperuser  create a staff login
  api-token        create, list and revoke REST API tokens; check one (me)

Data
  import           import contacts, events or customer-number-to-LINE-ID links from CSV
  contact          search, get and upsert contacts; bulk upsert from a JSON/JSONL file
  event            bulk-ingest events from a JSON/JSONL file (idempotent by external ID)
  tag              list tags; add or remove tags on many contacts
  line             LINE friends: sync-friends pulls followers and profiles
  webhooks         re-run stored LINE webhook events that failed
  segment          list, create, get, update, delete, count and preview segments
  audience         create frozen audiences (file, segment, contact IDs); list and get them
  export           LINE user-ID and Business Manager e-mail/phone files (audited)

Sending
  campaign         create, test, schedule, send and cancel campaigns; status, recipients,
                   clicks
  scenario         automations: create (JSON or template), activate, pause, archive, stats,
                   a contact's enrolments; tick runs the scheduler once

The API's operations take --workspace SLUG, --json (the API's JSON) and --as USERNAME (act as
a staff login; needed to see or filter by personal data).
Every Django management command is available too (otodoke help --all).
"""

# Commands that may create the local key file when the environment does not provide keys.
_KEY_CREATING = {"init", "demo"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args == ["help"]:
        sys.stdout.write(OVERVIEW)
        return 0
    if args[0] == "emulator":
        from line_emulator.cli import main as emulator_main

        return emulator_main(args[1:])
    if args[:2] == ["help", "--all"]:
        args = ["help"]
    if args[0] in _KEY_CREATING and not os.environ.get("SECRET_KEY"):
        from otodoke.core.env import data_dir, ensure_local_keys

        ensure_local_keys(data_dir())

    if _asks_for_help(args):
        _help_keys()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otodoke.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.db import DatabaseError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["otodoke", *args])
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"otodoke: {exc}\n")
        return 2
    except DatabaseError as exc:
        if not _missing_table(exc):
            raise
        sys.stderr.write(
            "otodoke: the database is not set up yet (データベースが未作成です). "
            "Run `otodoke migrate` first (`otodoke migrate` を実行してください).\n"
        )
        return 2
    return 0


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
