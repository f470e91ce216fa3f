import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.services import create_workspace


class Command(OtodokeCommand):
    help = gettext_noop("Create and list workspaces (one per LINE Official Account).")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a workspace")
        create.add_argument("--name", required=True)
        create.add_argument("--slug", help="URL-safe short name (default: from the name)")
        create.add_argument("--channel-id", required=True)
        create.add_argument("--channel-secret", required=True)
        create.add_argument("--channel-access-token", required=True)
        create.add_argument(
            "--api-base-url",
            default=None,
            help="LINE API base URL (default OTODOKE_LINE_API_URL or https://api.line.me; "
            "the emulator's URL for a sandbox)",
        )
        create.add_argument("--plan", choices=[p.value for p in Plan], default=Plan.COMMUNICATION)
        create.add_argument("--time-zone", default="Asia/Tokyo")
        create.add_argument("--owner", help="username of an existing staff login to make owner")
        create.add_argument("--json", action="store_true", help="print the result as JSON")
        listing = sub.add_parser("list", help="list workspaces")
        listing.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            self._create(options)
        else:
            self._list(options)

    def _create(self, options: dict[str, Any]) -> None:
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(
                    _("No staff login named %(username)r") % {"username": options["owner"]}
                )
        try:
            workspace = create_workspace(
                name=options["name"],
                slug=options["slug"],
                channel_id=options["channel_id"],
                channel_secret=options["channel_secret"],
                channel_access_token=options["channel_access_token"],
                api_base_url=options["api_base_url"] or settings.LINE_API_BASE_URL,
                plan=options["plan"],
                time_zone=options["time_zone"],
                owner=owner,
                actor_name="cli",
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(problems) from exc
        data = _describe(workspace)
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            self.stdout.write(
                _("Created workspace %(slug)s (id %(id)s)")
                % {"slug": workspace.slug, "id": workspace.pk}
            )
            self.stdout.write(
                _("Webhook URL for the LINE console: %(url)s") % {"url": data["webhook_url"]}
            )

    def _list(self, options: dict[str, Any]) -> None:
        rows = [_describe(w) for w in Workspace.objects.all()]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            self.stdout.write(f"{row['id']:>4}  {row['slug']:<24} {row['name']}  ({row['plan']})")


def _describe(workspace: Workspace) -> dict[str, Any]:
    return {
        "id": workspace.pk,
        "slug": workspace.slug,
        "name": workspace.name,
        "channel_id": workspace.channel_id,
        "plan": workspace.plan,
        "time_zone": workspace.time_zone,
        "api_base_url": workspace.api_base_url,
        "webhook_url": workspace.webhook_url(),
    }
