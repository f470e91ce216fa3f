"""`otodoke event bulk`: the REST API's event ingest for scripts (idempotent by external ID).

Runs the API's own operation (`otodoke.api.routers.events.bulk_ingest`); `--json` prints what
the API would answer. See `otodoke.api.commandline` for who the CLI acts as.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext_noop

from otodoke.api.commandline import (
    CliCaller,
    add_common,
    caller_for,
    check_items,
    read_items,
    run,
    shift_path,
)
from otodoke.api.routers.events import EventBulkIn, EventBulkOut, EventIn, bulk_ingest
from otodoke.api.schemas import MAX_BULK_ITEMS
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop("Ingest visits, purchases and other events from a JSON or JSON Lines file.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        bulk = sub.add_parser("bulk", help="ingest events; the same external_id never counts twice")
        add_common(bulk)
        bulk.add_argument(
            "--file",
            required=True,
            help='JSON array, {"events": [...]} or JSON Lines; more than 1,000 items are sent '
            "in batches of 1,000 ('-': stdin)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        caller = caller_for(options)
        items = read_items(self, options, options["file"], "events")
        check_items(self, options, items, "events", EventIn)
        run(self, options, lambda: ingest(caller, items), _lines)


def ingest(caller: CliCaller, items: list[Any]) -> EventBulkOut:
    total = EventBulkOut(created=0, updated=0, unchanged=0, failed=0, results=[])
    for start in range(0, len(items), MAX_BULK_ITEMS):
        part = bulk_ingest(
            caller, EventBulkIn.model_validate({"events": items[start : start + MAX_BULK_ITEMS]})
        )
        for field in ("created", "updated", "unchanged", "failed"):
            setattr(total, field, getattr(total, field) + getattr(part, field))
        for result in part.results:
            result.index += start
            for error in result.errors:
                error.path = shift_path(error.path, start)
            total.results.append(result)
    return total


def _lines(result: EventBulkOut) -> Iterator[str]:
    yield (
        f"created {result.created}  updated {result.updated}  unchanged {result.unchanged}  "
        f"failed {result.failed}"
    )
    for item in result.results:
        for error in item.errors:
            yield f"  {error.path}: {error.message}"
