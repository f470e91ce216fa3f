"""`otodoke tag list|add|remove`: the REST API's tag operations for scripts.

Runs the API's own operations (`otodoke.api.routers.tags`); `--json` prints what the API would
answer. See `otodoke.api.commandline` for who the CLI acts as.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import add_common, caller_for, id_list, name_list, run
from otodoke.api.routers import tags as api
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop("List tags, or add or remove tags on up to 1,000 contacts at once.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="tags with how many contacts have each")
        add_common(listing)
        listing.add_argument("--cursor", help="next_cursor of the previous page")
        listing.add_argument("--limit", type=int, default=100)
        for name in ("add", "remove"):
            p = sub.add_parser(name, help=f"{name} tags on contacts")
            add_common(p)
            p.add_argument("--tags", type=name_list, required=True, help="comma-separated")
            p.add_argument("--contacts", type=id_list, default=[], help="contact IDs: 1,2,3")
            p.add_argument(
                "--external-ids", type=name_list, default=[], help="customer numbers: C1,C2"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        caller = caller_for(options)
        if options["action"] == "list":
            filters = {"cursor": options["cursor"], "limit": options["limit"]}
            run(
                self,
                options,
                lambda: api.tag_page(caller, api.TagFilters.model_validate(filters)),
                _page_lines,
            )
            return
        payload = {
            "tags": options["tags"],
            "contact_ids": options["contacts"],
            "external_ids": options["external_ids"],
        }
        operation = api.tag if options["action"] == "add" else api.untag
        run(
            self,
            options,
            lambda: operation(caller, api.TaggingIn.model_validate(payload)),
            _tagging_lines,
        )


def _page_lines(found: api.TagPage) -> Iterator[str]:
    for t in found.items:
        yield f"{t.name:<30} {t.contacts:>8}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}


def _tagging_lines(result: api.TaggingOut) -> Iterator[str]:
    yield _("%(pairs)s contact–tag pairs on %(contacts)s contacts") % {
        "pairs": result.pairs,
        "contacts": result.contacts,
    }
    for error in result.errors:
        yield f"  {error.path}: {error.message}"
