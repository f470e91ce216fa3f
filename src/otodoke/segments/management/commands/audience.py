"""`otodoke audience create|list|get`.

`create` freezes a LINE user-ID file, a segment, a definition or a list of contact IDs into an
audience; `list` and `get` run the REST API's operations (`otodoke.api.routers.audiences`) and
print its JSON with --json. See `otodoke.api.commandline` for who the CLI acts as.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import (
    CliCaller,
    add_common,
    caller_for,
    fail,
    id_list,
    read_text,
    run,
    to_json,
)
from otodoke.api.errors import ApiError
from otodoke.api.routers import audiences as api
from otodoke.api.routers.segments import PageParams
from otodoke.core.commands import OtodokeCommand
from otodoke.segments.audiences import (
    create_audience_from_contacts,
    create_audience_from_file,
    create_audience_from_segment,
)
from otodoke.segments.management.commands._common import (
    definition_error,
    get_segment,
    read_definition,
)
from otodoke.segments.models import Audience
from otodoke.segments.schema import DefinitionError
from otodoke.workspaces.roles import Permission


class Command(OtodokeCommand):
    help = gettext_noop(
        "Create a frozen audience (from a file, a segment or contact IDs); list and get them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        add_common(create)
        create.add_argument("--name", required=True)
        source = create.add_mutually_exclusive_group(required=True)
        source.add_argument("--from-file", help="TXT/CSV, one LINE user ID per line, no header")
        source.add_argument("--from-segment", type=int, help="saved segment ID")
        source.add_argument("--from-definition", help="definition JSON file")
        source.add_argument("--contacts", type=id_list, help="contact IDs: 1,2,3")
        source.add_argument(
            "--contacts-file", help="contact IDs, one per line or comma-separated ('-': stdin)"
        )
        create.add_argument("--strict", action="store_true", help="create nothing on any bad line")
        listing = sub.add_parser("list", help="audiences, newest first by ID page")
        add_common(listing)
        listing.add_argument("--cursor", help="next_cursor of the previous page")
        listing.add_argument("--limit", type=int, default=100)
        get = sub.add_parser("get", help="one audience")
        add_common(get)
        get.add_argument("audience_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        caller = caller_for(options)
        if options["action"] == "list":
            params = {"cursor": options["cursor"], "limit": options["limit"]}
            run(
                self,
                options,
                lambda: api.audience_page(caller, PageParams.model_validate(params)),
                _page_lines,
            )
        elif options["action"] == "get":
            run(self, options, lambda: api.read(caller, options["audience_id"]), _audience_lines)
        elif options["from_file"]:
            self._from_file(caller, options)
        elif options["contacts"] is not None or options["contacts_file"]:
            self._from_contacts(caller, options)
        else:
            self._from_segment(caller, options)

    def _from_file(self, caller: CliCaller, options: dict[str, Any]) -> None:
        path = Path(options["from_file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        report = create_audience_from_file(
            caller.workspace,
            name=options["name"],
            file=path,
            actor=caller.user,
            strict=options["strict"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
            return
        for p in report.problems:
            self.stdout.write(
                _("line %(line)s: %(reason)s: %(message)s")
                % {"line": p.line, "reason": p.reason, "message": p.message}
            )
        if report.audience is None:
            raise CommandError(_("Nothing created (--strict and the file has problems)"))
        self.stdout.write(
            _("Created audience %(id)s with %(count)s contacts")
            % {"id": report.audience.pk, "count": report.matched}
        )

    def _from_segment(self, caller: CliCaller, options: dict[str, Any]) -> None:
        definition: Any = (
            get_segment(caller.workspace, options["from_segment"])
            if options["from_segment"]
            else read_definition(options["from_definition"])
        )
        try:
            audience = create_audience_from_segment(
                caller.workspace, name=options["name"], definition=definition, actor=caller.user
            )
        except DefinitionError as exc:
            raise definition_error(exc) from exc
        self._created(audience, options)

    def _from_contacts(self, caller: CliCaller, options: dict[str, Any]) -> None:
        ids = options["contacts"]
        if ids is None:
            path = options["contacts_file"]
            try:
                text = read_text(self, options, path)
                ids = [int(part) for part in re.split(r"[\s,]+", text) if part]
            except ValueError as exc:
                message = f"{path}: not contact IDs ({exc})"
                raise fail(self, options, "bad_request", message) from exc

        def create() -> dict[str, Any]:
            caller.require(Permission.EDIT)
            try:
                audience = create_audience_from_contacts(
                    caller.workspace, name=options["name"], contact_ids=ids, actor=caller.user
                )
            except ValueError as exc:
                raise ApiError(
                    422, str(exc), code="validation_error", details=[("contacts", str(exc))]
                ) from exc
            return created_json(audience)

        run(self, options, create, _created_lines)

    def _created(self, audience: Audience, options: dict[str, Any]) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(created_json(audience), ensure_ascii=False))
        else:
            for line in _created_lines(created_json(audience)):
                self.stdout.write(line)


def created_json(audience: Audience) -> dict[str, Any]:
    # The API's audience, plus "audience_id", which scripts of this command relied on.
    return {**json.loads(to_json(api.audience_out(audience))), "audience_id": audience.pk}


def _created_lines(data: dict[str, Any]) -> list[str]:
    return [f"Created audience {data['id']} with {data['size']} contacts"]


def _audience_lines(audience: api.AudienceOut) -> Iterator[str]:
    yield f"audience {audience.id} “{audience.name}”: {audience.size} contacts ({audience.source})"


def _page_lines(found: api.AudiencePage) -> Iterator[str]:
    for a in found.items:
        yield f"{a.id:>6} {a.name:<30} {a.size:>8} {a.source}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}
