import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otodoke.segments.audiences import create_audience_from_file, create_audience_from_segment
from otodoke.segments.management.commands._common import (
    definition_error,
    get_segment,
    get_user,
    get_workspace,
    read_definition,
)
from otodoke.segments.schema import DefinitionError


class Command(BaseCommand):
    help = "Create a frozen audience from a LINE user-ID file or a segment snapshot."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--workspace", required=True)
        create.add_argument("--name", required=True)
        source = create.add_mutually_exclusive_group(required=True)
        source.add_argument("--from-file", help="TXT/CSV, one LINE user ID per line, no header")
        source.add_argument("--from-segment", type=int, help="saved segment ID")
        source.add_argument("--from-definition", help="definition JSON file")
        create.add_argument("--strict", action="store_true", help="create nothing on any bad line")
        create.add_argument("--as", dest="as_user", help="staff login to act as (needs edit)")
        create.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = get_workspace(options["workspace"])
        actor = get_user(options["as_user"])
        if options["from_file"]:
            path = Path(options["from_file"])
            if not path.is_file():
                raise CommandError(f"No file {path}")
            report = create_audience_from_file(
                workspace, name=options["name"], file=path, actor=actor, strict=options["strict"]
            )
            if options["json"]:
                self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False))
            else:
                for p in report.problems:
                    self.stdout.write(f"line {p.line}: {p.reason}: {p.message}")
                if report.audience is None:
                    raise CommandError("nothing created (--strict and the file has problems)")
                self.stdout.write(
                    f"Created audience {report.audience.pk} with {report.matched} contacts"
                )
            return
        definition: Any = (
            get_segment(workspace, options["from_segment"])
            if options["from_segment"]
            else read_definition(options["from_definition"])
        )
        try:
            audience = create_audience_from_segment(
                workspace, name=options["name"], definition=definition, actor=actor
            )
        except DefinitionError as exc:
            raise definition_error(exc) from exc
        if options["json"]:
            self.stdout.write(json.dumps({"audience_id": audience.pk, "size": audience.size}))
        else:
            self.stdout.write(f"Created audience {audience.pk} with {audience.size} contacts")
