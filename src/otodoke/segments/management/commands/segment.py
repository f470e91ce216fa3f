import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

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


class Command(BaseCommand):
    help = "Count or preview a segment definition; write the definition JSON Schema."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name in ("count", "preview"):
            p = sub.add_parser(name)
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

    def handle(self, *args: Any, **options: Any) -> None:
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
            self.stdout.write(f"total {result.total}  reachable on LINE {result.reachable}")

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
        self.stdout.write(f"total {preview.count.total}  reachable {preview.count.reachable}")
        for r in preview.rows:
            self.stdout.write(
                f"{r.id:>8} {r.external_id or '-':<12} {r.name:<16} {r.line_status:<9} "
                f"{r.line_user_id or '-':<34} {r.email or '-'}"
            )
