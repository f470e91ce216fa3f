import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.contacts.models import Contact
from otodoke.core.commands import OtodokeCommand
from otodoke.line.client import LineApiError
from otodoke.line.invites import LinkInviteRefused, send_link_invite
from otodoke.line.sync import DEFAULT_CONCURRENCY, SyncReport, sync_friends
from otodoke.line.tasks import sync_friends as sync_friends_task
from otodoke.line.verify import METHODS, request_check, verify_links
from otodoke.workspaces.models import Workspace


class Command(OtodokeCommand):
    help = gettext_noop(
        "LINE channel operations: sync-friends pulls followers and profiles from LINE; "
        "link-invite sends a friend the account-link invitation; verify-links asks LINE "
        "whether imported links are friends."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sync = sub.add_parser("sync-friends", help="create contacts for every LINE follower")
        sync.add_argument("--workspace", required=True, help="workspace slug")
        sync.add_argument(
            "--concurrency",
            type=int,
            default=DEFAULT_CONCURRENCY,
            help=f"profile requests in flight (default {DEFAULT_CONCURRENCY})",
        )
        sync.add_argument("--page-size", type=int, default=1000, help="follower IDs per page")
        sync.add_argument("--no-profiles", action="store_true", help="IDs only, no profiles")
        sync.add_argument(
            "--background", action="store_true", help="enqueue a task instead of running here"
        )
        invite = sub.add_parser(
            "link-invite",
            help="push a following, unlinked friend a link to the membership verification page",
        )
        invite.add_argument("--workspace", required=True, help="workspace slug")
        who = invite.add_mutually_exclusive_group(required=True)
        who.add_argument("--contact", type=int, help="contact ID")
        who.add_argument("--line-user-id", help="the friend's LINE user ID (U…)")
        invite.add_argument("--json", action="store_true", help="print a JSON result")
        verify = sub.add_parser(
            "verify-links",
            help="ask LINE whether linked IDs of unknown friend status (imports) are friends",
        )
        verify.add_argument("--workspace", required=True, help="workspace slug")
        verify.add_argument(
            "--method",
            choices=METHODS,
            default="auto",
            help="followers: LINE's follower-ID list (verified accounts); profile: one call per "
            "ID; auto: profile for up to 5,000 IDs, else followers",
        )
        verify.add_argument(
            "--background", action="store_true", help="enqueue a task instead of running here"
        )
        verify.add_argument("--json", action="store_true", help="print a JSON result")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(_("No workspace %(slug)r") % {"slug": options["workspace"]})
        if options["action"] == "link-invite":
            self.link_invite(workspace, options)
            return
        if options["action"] == "verify-links":
            self.verify_links(workspace, options)
            return
        if options["background"]:
            result = sync_friends_task.enqueue(workspace.pk)
            self.stdout.write(_("Enqueued friends sync as task %(id)s") % {"id": result.id})
            return

        def progress(report: SyncReport) -> None:
            self.stdout.write(
                f"page {report.pages}: {report.followers} followers, "
                f"{report.created} new contacts, {report.profiles_fetched} profiles"
            )

        try:
            report = sync_friends(
                workspace,
                concurrency=options["concurrency"],
                page_limit=options["page_size"],
                fetch_profile=not options["no_profiles"],
                progress=progress if options["verbosity"] > 0 else None,
            )
        except LineApiError as exc:
            raise CommandError(exc.describe()) from exc
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Done: %(followers)s followers, %(created)s new contacts, %(refollowed)s "
                    "re-followed, %(updated)s profiles updated, %(missing)s without a profile"
                )
                % {
                    "followers": report.followers,
                    "created": report.created,
                    "refollowed": report.refollowed,
                    "updated": report.profiles_updated,
                    "missing": report.profiles_missing,
                }
            )
        )

    def link_invite(self, workspace: Workspace, options: dict[str, Any]) -> None:
        contacts = Contact.objects.filter(workspace=workspace)
        if options["contact"] is not None:
            contact = contacts.filter(pk=options["contact"]).first()
            wanted = _("No contact %(id)s in workspace %(slug)r") % {
                "id": options["contact"],
                "slug": workspace.slug,
            }
        else:
            contact = contacts.filter(line_user_id=options["line_user_id"]).first()
            wanted = _("No LINE user %(id)s in workspace %(slug)r") % {
                "id": options["line_user_id"],
                "slug": workspace.slug,
            }
        if contact is None:
            raise CommandError(wanted)
        try:
            sent = send_link_invite(workspace, contact, label="cli")
        except LinkInviteRefused as exc:
            raise CommandError(str(exc)) from exc
        except LineApiError as exc:
            raise CommandError(exc.describe()) from exc
        if options["json"]:
            self.stdout.write(json.dumps(sent.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(
            self.style.SUCCESS(
                _("Invitation sent to contact %(id)s (LINE request %(request)s); link: %(url)s")
                % {"id": sent.contact_id, "request": sent.request_id, "url": sent.url}
            )
        )

    def verify_links(self, workspace: Workspace, options: dict[str, Any]) -> None:
        if options["background"]:
            check = request_check(workspace, requested_by="cli")
            self.stdout.write(_("Friend check %(id)s queued.") % {"id": check.pk})
            return
        try:
            report = verify_links(workspace, method=options["method"])
        except LineApiError as exc:
            raise CommandError(exc.describe()) from exc
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict()))
            return
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Checked %(checked)s linked LINE IDs of unknown friend status: %(following)s "
                    "are friends, %(not_found)s were not found (not a friend, blocked, or no "
                    "profile consent; they stay unknown), %(failed)s could not be checked."
                )
                % report.as_dict()
            )
        )
