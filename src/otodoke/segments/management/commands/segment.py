"""`otodoke segment count|preview|schema`, and list|create|get|update|delete: the last five
run the REST API's segment operations (`otodoke.api.routers.segments`) and print its JSON with
--json; see `otodoke.api.commandline` for who the CLI acts as."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import CliCaller, add_common, caller_for, fail, read_json, run
from otodoke.api.routers import segments as api
from otodoke.core.commands import OtodokeCommand
from otodoke.segments.management.commands._common import (
    definition_error,
    get_segment,
    get_user,
    get_workspace,
    read_definition,
)
from otodoke.segments.schema import DefinitionError, json_schema
from otodoke.segments.services import count_segment, preview_segment
from otodoke.segments.summary import summarize


class Command(OtodokeCommand):
    help = gettext_noop(
        "Count or preview a segment definition; write the definition JSON Schema; list, "
        "create, get, update and delete saved segments."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (
            ("count", "count a definition or a saved segment: total and reachable on LINE"),
            ("preview", "the first contacts a definition matches (personal data masked)"),
        ):
            p = sub.add_parser(name, help=text)
            p.add_argument("--workspace", required=True, help="workspace slug")
            source = p.add_mutually_exclusive_group(required=True)
            source.add_argument("--definition", help="a definition JSON file")
            source.add_argument("--segment", type=int, help="a saved segment's ID")
            p.add_argument("--json", action="store_true")
        preview = sub.choices["preview"]
        preview.add_argument("--limit", type=int, default=20)
        preview.add_argument(
            "--as", dest="as_user", help="staff login whose permissions decide PII masking"
        )
        schema = sub.add_parser("schema", help="print (or write) the JSON Schema")
        schema.add_argument("--out", help="file to write, e.g. docs/segment-schema.v1.json")
        listing = sub.add_parser("list", help="saved segments, a page at a time")
        add_common(listing)
        listing.add_argument("--cursor", help="next_cursor of the previous page")
        listing.add_argument("--limit", type=int, default=100)
        create = sub.add_parser("create", help="save a new segment")
        add_common(create)
        create.add_argument("--name", required=True)
        create.add_argument("--definition", required=True, help="definition JSON file ('-': stdin)")
        create.add_argument("--description", default="")
        for name, text in (
            ("get", "a saved segment"),
            ("update", "change a segment's name, description or definition"),
            ("delete", "delete a segment nothing else uses"),
        ):
            p = sub.add_parser(name, help=text)
            add_common(p)
            p.add_argument("segment_id", type=int)
        update = sub.choices["update"]
        update.add_argument("--name")
        update.add_argument("--definition", help="definition JSON file ('-': stdin)")
        update.add_argument("--description")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] in {"list", "create", "get", "update", "delete"}:
            getattr(self, "_" + options["action"])(caller_for(options), options)
            return
        if options["action"] == "schema":
            text = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
            if options["out"]:
                Path(options["out"]).write_text(text, encoding="utf-8")
            else:
                self.stdout.write(text)
            return
        workspace = get_workspace(options["workspace"])
        definition: Any = (
            get_segment(workspace, options["segment"])
            if options["segment"]
            else read_definition(options["definition"])
        )
        try:
            if options["action"] == "count":
                self._count(workspace, definition, options)
            else:
                self._preview(workspace, definition, options)
        except DefinitionError as exc:
            raise definition_error(exc) from exc

    def _count(self, workspace: Any, definition: Any, options: dict[str, Any]) -> None:
        result = count_segment(workspace, definition)
        raw = definition.definition if hasattr(definition, "definition") else definition
        if options["json"]:
            data = {"total": result.total, "reachable": result.reachable, "summary": summarize(raw)}
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            self.stdout.write(summarize(raw))
            self.stdout.write(
                _("total %(total)s  reachable on LINE %(reachable)s")
                % {"total": result.total, "reachable": result.reachable}
            )

    def _preview(self, workspace: Any, definition: Any, options: dict[str, Any]) -> None:
        viewer = get_user(options["as_user"])
        preview = preview_segment(workspace, definition, viewer=viewer, limit=options["limit"])
        if options["json"]:
            data = {
                "total": preview.count.total,
                "reachable": preview.count.reachable,
                "pii_visible": preview.pii_visible,
                "rows": [r.as_json() for r in preview.rows],
            }
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(
            _("total %(total)s  reachable on LINE %(reachable)s")
            % {"total": preview.count.total, "reachable": preview.count.reachable}
        )
        for r in preview.rows:
            self.stdout.write(
                f"{r.id:>8} {r.external_id or '-':<12} {r.name:<16} {r.line_status:<9} "
                f"{r.line_user_id or '-':<34} {r.email or '-'}"
            )

    def _list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        params = {"cursor": options["cursor"], "limit": options["limit"]}
        run(
            self,
            options,
            lambda: api.segment_page(caller, api.PageParams.model_validate(params)),
            _page_lines,
        )

    def _create(self, caller: CliCaller, options: dict[str, Any]) -> None:
        payload = {
            "name": options["name"],
            "description": options["description"],
            "definition": self._definition(options),
        }
        run(
            self,
            options,
            lambda: api.create(caller, api.SegmentIn.model_validate(payload)),
            _segment_lines,
        )

    def _get(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.read(caller, options["segment_id"]), _segment_lines)

    def _update(self, caller: CliCaller, options: dict[str, Any]) -> None:
        segment_id = options["segment_id"]

        def update() -> api.SegmentOut:
            # The API replaces a segment whole; here what is not given stays as it is.
            current = api.read(caller, segment_id)
            payload = {
                "name": options["name"] or current.name,
                "description": (
                    current.description
                    if options["description"] is None
                    else options["description"]
                ),
                "definition": (
                    self._definition(options) if options["definition"] else current.definition
                ),
            }
            return api.replace(caller, segment_id, api.SegmentIn.model_validate(payload))

        run(self, options, update, _segment_lines)

    def _delete(self, caller: CliCaller, options: dict[str, Any]) -> None:
        segment_id = options["segment_id"]

        def delete() -> dict[str, Any]:
            api.delete(caller, segment_id)
            return {"deleted": segment_id}

        run(
            self,
            options,
            delete,
            lambda _result: [_("Deleted segment %(id)s") % {"id": segment_id}],
        )

    def _definition(self, options: dict[str, Any]) -> Any:
        data = read_json(self, options, options["definition"])
        if not isinstance(data, dict):
            raise fail(self, options, "bad_request", "the definition must be a JSON object")
        return data


def _segment_lines(segment: api.SegmentOut) -> Iterator[str]:
    yield f"segment {segment.id} “{segment.name}”"
    if segment.description:
        yield f"  {segment.description}"
    yield "  " + summarize(segment.definition)


def _page_lines(found: api.SegmentPage) -> Iterator[str]:
    for s in found.items:
        yield f"{s.id:>6} {s.name}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}
