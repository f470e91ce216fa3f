"""`otodoke images list|cleanup`: hosted images, and deleting those nothing uses."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand
from otodoke.media import services
from otodoke.media.models import HostedImage


class Command(OtodokeCommand):
    help = gettext_noop(
        "List hosted images; cleanup deletes the ones no campaign, scenario or chat reply uses."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help=gettext_noop("every hosted image"))
        listing.add_argument("--json", action="store_true", help=gettext_noop("print JSON"))
        clean = sub.add_parser(
            "cleanup", help=gettext_noop("delete images no campaign, scenario or chat reply uses")
        )
        clean.add_argument(
            "--dry-run", action="store_true", help=gettext_noop("only list what would go")
        )
        clean.add_argument("--json", action="store_true", help=gettext_noop("print JSON"))

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            images = list(HostedImage.objects.select_related("workspace"))
            rows = [_row(image) for image in images]
            if options["json"]:
                self.stdout.write(json.dumps(rows, ensure_ascii=False))
                return
            for row in rows:
                self.stdout.write(
                    f"{row['id']:>6}  {row['key']}  {row['workspace']}  "
                    f"{row['width']}×{row['height']}  {row['name']}"
                )
            return
        unused = services.unused_images()
        deleted = 0 if options["dry_run"] else services.cleanup(unused)
        if options["json"]:
            result = {
                "unused": [_row(image) for image in unused],
                "deleted": deleted,
                "dry_run": bool(options["dry_run"]),
            }
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        if options["dry_run"]:
            self.stdout.write(_("%(n)s unused images would be deleted.") % {"n": len(unused)})
        else:
            self.stdout.write(_("%(n)s unused images deleted.") % {"n": deleted})


def _row(image: HostedImage) -> dict[str, Any]:
    return {
        "id": image.pk,
        "key": image.key,
        "workspace": image.workspace.slug,
        "name": image.original_name,
        "width": image.width,
        "height": image.height,
        "created_at": image.created_at.isoformat(),
        **services.urls(image).as_dict(),
    }
