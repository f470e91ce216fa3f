# ruff: noqa: N999 - the command is `otodoke import`, so the module is import.py
"""`otodoke import contacts|events|links FILE --workspace SLUG`: a thin wrapper over run_import."""

from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from tqdm import tqdm

from otodoke.contacts.imports import ImportFileError, ImportReport, rows, run_import
from otodoke.contacts.imports.reading import ENCODINGS
from otodoke.contacts.models import ImportKind
from otodoke.core.commands import OtodokeCommand
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.services import record_audit


def _mapping(options: dict[str, Any]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    if options["mapping"]:
        try:
            loaded = json.loads(Path(options["mapping"]).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(
                _("Cannot read the mapping file: %(error)s") % {"error": exc}
            ) from exc
        # {"columns": {...}} or a flat {"column": "field"}
        columns = loaded.get("columns", loaded) if isinstance(loaded, dict) else None
        if not isinstance(columns, dict):
            raise CommandError(_('The mapping file must be a JSON object {"column": "field"}'))
        mapping.update({str(k): str(v) for k, v in columns.items()})
    for item in options["map"] or []:
        column, sep, target = item.partition("=")
        if not sep:
            raise CommandError(_("--map takes COLUMN=FIELD, not %(value)r") % {"value": item})
        mapping[column] = target
    return mapping


def _fields_epilog() -> str:
    """The fields --map accepts, per kind (the same names the UI's mapping step offers)."""
    lines = [_("Fields --map accepts (COLUMN=FIELD):")]
    for kind, fields in (
        ("contacts", [*rows.CONTACT_SYNONYMS, "attributes.KEY"]),
        ("events", [*rows.EVENT_SYNONYMS, "properties.KEY"]),
        ("links", list(rows.LINK_SYNONYMS)),
    ):
        lines.append(
            textwrap.fill(
                f"{kind}: {', '.join(fields)}",
                width=78,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
    lines.append(_("  - (or skip): ignore the column"))
    return "\n".join(lines)


class Command(OtodokeCommand):
    help = gettext_noop(
        "Import contacts, events or LINE user ID links from a CSV file. Columns are matched to "
        "fields by their names (顧客番号, 氏名, 携帯電話, タグ …); --map overrides one."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(
            prog_name, subcommand, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
        )
        parser.epilog = _fields_epilog()
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "kind", choices=[k.value for k in ImportKind], help="what the file holds"
        )
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--mapping", help="JSON file mapping columns to fields")
        parser.add_argument(
            "--map",
            action="append",
            metavar="COLUMN=FIELD",
            help="map one column (FIELD may be attributes[.KEY], properties[.KEY] or - to skip)",
        )
        parser.add_argument(
            "--tag-separator",
            choices=list(rows.TAG_SEPARATOR_CHOICES),
            default="auto",
            help="how the tags column is split: auto (, 、 ; | /), one of them, or space",
        )
        parser.add_argument("--encoding", choices=ENCODINGS, default="auto")
        parser.add_argument("--dry-run", action="store_true", help="validate and roll back")
        parser.add_argument(
            "--allow-errors",
            action="store_true",
            help="exit 0 even when some rows were rejected (the valid rows are imported anyway)",
        )
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
            raise CommandError(_("No workspace %(slug)r") % {"slug": options["workspace"]})
        path: Path = options["file"]
        if not path.is_file():
            # Before any progress bar is drawn.
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        mapping = _mapping(options)
        show_bar = not options["json"] and options["verbosity"] > 0
        bar: tqdm[Any] | None = None

        def chosen(columns: list[tuple[str, str]]) -> None:
            nonlocal bar
            if not options["json"]:
                self.stdout.write(_("Columns:"))
                for column, field in columns:
                    shown = _("(ignored)") if field == "-" else field
                    self.stdout.write(f"  {column} → {shown}")
            bar = tqdm(total=0, unit="B", unit_scale=True, disable=not show_bar, desc=path.name)

        def progress(done: int, total: int, report: ImportReport) -> None:
            if bar is None:
                return
            bar.total = total
            bar.update(done - bar.n)
            bar.set_postfix(rows=report.rows, errors=report.error_count, refresh=False)

        try:
            report = run_import(
                workspace,
                options["kind"],
                path,
                mapping=mapping,
                encoding=options["encoding"],
                dry_run=options["dry_run"],
                progress=progress,
                errors_path=options["errors"],
                tag_separator=options["tag_separator"],
                on_mapping=chosen,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            if bar is not None:
                bar.close()
        summary = report.as_dict()
        if not report.dry_run:
            record_audit(
                workspace,
                AuditAction.IMPORTED,
                label="cli",
                target=path.name,
                details={k: v for k, v in summary.items() if k not in {"errors", "tags"}},
            )
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            self._print(report, options)
        if report.error_count and not options["allow_errors"]:
            raise CommandError(
                _(
                    "%(count)d rows were rejected (the others were imported); "
                    "--allow-errors exits 0 anyway"
                )
                % {"count": report.error_count}
                if not report.dry_run
                else _("%(count)d rows would be rejected") % {"count": report.error_count}
            )

    def _print(self, report: ImportReport, options: dict[str, Any]) -> None:
        self.stdout.write(
            _(
                "%(rows)d rows: %(created)d created, %(updated)d updated, %(unchanged)d "
                "unchanged, %(merged)d merged, %(errors)d errors"
            )
            % {
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "merged": report.merged,
                "errors": report.error_count,
            }
        )
        if report.tags:
            found = ", ".join(f"{name} ({n})" for name, n in report.tags.most_common(20))
            more = len(report.tags) - 20
            self.stdout.write(
                _("Tags found: %(tags)s") % {"tags": found}
                + (_(" … and %(count)d more") % {"count": more} if more > 0 else "")
            )
        for error in report.errors:
            self.stdout.write(
                "  "
                + _("line %(line)d, %(column)s: %(message)s")
                % {"line": error.row, "column": error.column, "message": error.message}
            )
        if report.error_count > len(report.errors):
            hint = (
                _("all in %(file)s") % {"file": options["errors"]}
                if options["errors"]
                else _("use --errors FILE")
            )
            self.stdout.write(
                "  "
                + _("… %(count)d more (%(hint)s)")
                % {"count": report.error_count - len(report.errors), "hint": hint}
            )
        elif options["errors"]:
            self.stdout.write(_("Error report: %(file)s") % {"file": options["errors"]})
