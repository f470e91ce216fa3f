"""`otodoke export line-ids|emails|phones`.

The CLI is not a trusted operator: `--as USERNAME` is required and that login's EXPORT
permission is checked, so every export of personal data names a person in the audit log (shell
access to the server does not make someone accountable for a particular list).
"""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand
from otodoke.segments.exports import ExportKind, ExportLimits, ExportSource, export_contacts
from otodoke.segments.management.commands._common import (
    definition_error,
    get_audience,
    get_segment,
    get_user,
    get_workspace,
    read_definition,
)
from otodoke.segments.schema import DefinitionError


class Command(OtodokeCommand):
    help = gettext_noop(
        "Export LINE user IDs, or Business Manager e-mail/phone files, for a segment."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[k.value for k in ExportKind])
        parser.add_argument("--workspace", required=True)
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--segment", type=int)
        source.add_argument("--definition", help="definition JSON file")
        source.add_argument("--audience", type=int)
        parser.add_argument("--out", required=True, help="folder for the files and the report")
        parser.add_argument("--sha256", action="store_true", help="pre-hash values (SHA-256)")
        parser.add_argument(
            "--as", dest="as_user", required=True, help="staff login with the export permission"
        )
        parser.add_argument("--max-rows", type=int, help="rows per file (default LINE's limit)")
        parser.add_argument("--max-bytes", type=int, help="bytes per file (default LINE's limit)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = get_workspace(options["workspace"])
        actor = get_user(options["as_user"])
        assert actor is not None
        if options["segment"]:
            source = ExportSource(segment=get_segment(workspace, options["segment"]))
        elif options["audience"]:
            source = ExportSource(audience=get_audience(workspace, options["audience"]))
        else:
            source = ExportSource(definition=read_definition(options["definition"]))
        limits = ExportLimits.for_upload(hashed=options["sha256"])
        if options["max_rows"] or options["max_bytes"]:
            limits = ExportLimits(
                options["max_rows"] or limits.max_rows, options["max_bytes"] or limits.max_bytes
            )
        try:
            result = export_contacts(
                workspace,
                ExportKind(options["kind"]),
                source=source,
                actor=actor,
                out_dir=Path(options["out"]),
                hashed=options["sha256"],
                limits=limits,
                actor_name=f"{actor.get_username()} (cli)",
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except DefinitionError as exc:
            raise definition_error(exc) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        self.stdout.write(
            _("%(rows)s rows in %(files)s file(s):")
            % {"rows": result.rows, "files": len(result.files)}
        )
        for path in result.files:
            self.stdout.write(f"  {path}")
        for reason, n in sorted(result.skipped.items()):
            self.stdout.write(
                "  " + _("skipped %(count)s: %(reason)s") % {"count": n, "reason": reason}
            )
        self.stdout.write(_("report: %(file)s") % {"file": result.report})
