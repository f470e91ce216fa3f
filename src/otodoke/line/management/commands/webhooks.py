from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.services import retry_events
from otodoke.workspaces.models import Workspace


class Command(OtodokeCommand):
    help = gettext_noop("LINE webhook events: re-enqueue failed ones, show counts by status.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        retry = sub.add_parser("retry", help="re-enqueue failed (and pending) events")
        retry.add_argument("--workspace", help="workspace slug (default: all)")
        retry.add_argument(
            "--failed-only", action="store_true", help="leave still-pending events alone"
        )
        status = sub.add_parser("status", help="count events by status")
        status.add_argument("--workspace", help="workspace slug (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = None
        if options["workspace"]:
            workspace = Workspace.objects.filter(slug=options["workspace"]).first()
            if workspace is None:
                raise CommandError(_("No workspace %(slug)r") % {"slug": options["workspace"]})
        if options["action"] == "retry":
            count = retry_events(workspace, include_pending=not options["failed_only"])
            self.stdout.write(_("Re-enqueued %(count)s webhook event(s)") % {"count": count})
            return
        events = WebhookEvent.objects.all()
        if workspace is not None:
            events = events.filter(workspace=workspace)
        for value, label in WebhookStatus.choices:
            self.stdout.write(f"{value:<10} {events.filter(status=value).count():>8}  {label}")
