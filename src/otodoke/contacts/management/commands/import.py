# ruff: noqa: N999 - the command is `otodoke import`, so the module is import.py
"""`otodoke import contacts|events|links FILE --workspace SLUG`: a thin wrapper over run_import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from otodoke.contacts.imports import ImportFileError, ImportReport, run_import
from otodoke.contacts.imports.reading import ENCODINGS
from otodoke.contacts.models import ImportKind
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.services import record_audit


def _mapping(options: dict[str, Any]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if options["mapping"]:
        try:
            loaded = json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read the mapping file: {exc}") from exc
        # {"columns": {...}} or a flat {"column": "field"}
        columns = loaded.get("columns", loaded) if isinstance(loaded, dict) else None
        if not isinstance(columns, dict):
            raise CommandError('The mapping file must be a JSON object {"column": "field"}')
        mapping.update({str(k): str(v) for k, v in columns.items()})
    for item in options["map"] or []:
        column, sep, target = item.partition("=")
        if not sep:
            raise CommandError(f"--map takes COLUMN=FIELD, not {item!r}")
        mapping[column] = target
    return mapping


class Command(BaseCommand):
    help = "Import contacts, events or LINE user ID links from a CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[k.value for k in ImportKind])
        parser.add_argument("file", type=Path)
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--mapping", help="JSON file mapping columns to fields")
        parser.add_argument(
            "--map",
            action="append",
            metavar="COLUMN=FIELD",
            help="map one column (FIELD may be attributes[.KEY], properties[.KEY] or - to skip)",
        )
        parser.add_argument("--encoding", choices=ENCODINGS, default="auto")
        parser.add_argument("--dry-run", action="store_true", help="validate and roll back")
        parser.add_argument("--json", action="store_true", help="print a JSON summary")
        parser.add_argument(
            "--errors",
            type=Path,
            metavar="FILE",
            help="write every rejected row (line, column, value, reason) to this CSV file",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace {options['workspace']!r}")
        path: Path = options["file"]
        show_bar = not options["json"] and options["verbosity"] > 0
        bar = tqdm(total=0, unit="B", unit_scale=True, disable=not show_bar, desc=path.name)

        def progress(done: int, total: int, report: ImportReport) -> None:
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix(rows=report.rows, errors=report.error_count, refresh=False)

        try:
            report = run_import(
                workspace,
                options["kind"],
                path,
                mapping=_mapping(options),
                encoding=options["encoding"],
                dry_run=options["dry_run"],
                progress=progress,
                errors_path=options["errors"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        summary = report.as_dict()
        if not report.dry_run:
            record_audit(
                workspace,
                AuditAction.IMPORTED,
                label="cli",
                target=path.name,
                details={k: v for k, v in summary.items() if k != "errors"},
            )
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"{report.rows} rows: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.merged} merged, {report.error_count} errors"
        )
        for error in report.errors:
            self.stdout.write(f"  line {error.row}, {error.column}: {error.message}")
        if report.error_count > len(report.errors):
            hint = f"all in {options['errors']}" if options["errors"] else "use --errors FILE"
            self.stdout.write(f"  … {report.error_count - len(report.errors)} more ({hint})")
        elif options["errors"]:
            self.stdout.write(f"Error report: {options['errors']}")
