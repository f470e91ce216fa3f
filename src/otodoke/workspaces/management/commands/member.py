"""`otodoke member add|invite|list|role|remove`: staff logins of a workspace from the shell.

The CLI is the server operator: it may manage any workspace's members, is audited as "cli",
and the same rules as 設定 → メンバー apply (password strength, unique usernames, a workspace
keeps at least one owner)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.core.commands import OtodokeCommand
from otodoke.workspaces import members as service
from otodoke.workspaces.models import Membership, Workspace
from otodoke.workspaces.roles import Role

ROLES = [r.value for r in Role]
LABEL = "cli"


class Command(OtodokeCommand):
    help = gettext_noop(
        "Manage a workspace's staff logins: add (create a login or add an existing one), invite "
        "(print a single-use link), list, role (change a role) and remove."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser(
            "add",
            help="create a staff login with a role (or give an existing login a role here)",
            description="Create a staff login (not a Django superuser) with ROLE in the "
            "workspace. When the username already exists, that login joins the workspace and "
            "keeps its password. The password is read from stdin (--password-stdin) or asked "
            "for twice.",
        )
        _workspace(add)
        add.add_argument("--role", required=True, choices=ROLES)
        add.add_argument("--username", required=True)
        add.add_argument("--email", default="")
        add.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin (for scripts)",
        )
        _json(add)
        invite = sub.add_parser(
            "invite",
            help="print a single-use invitation link for ROLE",
            description="Print a link that works once and expires: whoever opens it chooses a "
            "username and password and joins the workspace with ROLE.",
        )
        _workspace(invite)
        invite.add_argument("--role", required=True, choices=ROLES)
        invite.add_argument("--email", default="", help="who it is for (a reminder only)")
        invite.add_argument(
            "--days",
            type=int,
            default=service.INVITATION_DAYS,
            help=gettext_noop("how long the link works, in days (1–30, default %(default)s)"),
        )
        _json(invite)
        listing = sub.add_parser("list", help="list the members and their roles")
        _workspace(listing)
        _json(listing)
        role = sub.add_parser("role", help="change a member's role")
        _workspace(role)
        role.add_argument("--username", required=True)
        role.add_argument("--role", required=True, choices=ROLES)
        _json(role)
        remove = sub.add_parser(
            "remove", help="remove a member from the workspace (the login itself stays)"
        )
        _workspace(remove)
        remove.add_argument("--username", required=True)
        _json(remove)

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(_("No workspace “%(slug)s”.") % {"slug": options["workspace"]})
        action = options["action"]
        try:
            result = getattr(self, f"_{action}")(workspace, options)
        except ValidationError as exc:
            raise CommandError(_problems(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))

    def _add(self, workspace: Workspace, options: dict[str, Any]) -> dict[str, Any]:
        role, username = Role(options["role"]), options["username"]
        exists = User.objects.filter(username=username).exists()
        if exists:
            if options["password_stdin"]:
                raise CommandError(
                    _(
                        "%(user)s already exists; it joins with its own password, so leave out "
                        "--password-stdin."
                    )
                    % {"user": username}
                )
            membership = service.add_member(
                workspace, identifier=username, role=role, actor=None, label=LABEL
            )
        else:
            membership = service.create_member(
                workspace,
                username=username,
                email=options["email"],
                password=self._password(options),
                role=role,
                actor=None,
                label=LABEL,
            )
        if not options["json"]:
            self.stdout.write(
                _("%(user)s is now %(role)s in %(workspace)s.")
                % {
                    "user": membership.user.get_username(),
                    "role": membership.get_role_display(),
                    "workspace": workspace.slug,
                }
            )
        return _describe(membership)

    def _password(self, options: dict[str, Any]) -> str:
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError(_("--password-stdin: stdin gave no password."))
            return password
        if not sys.stdin.isatty():
            raise CommandError(
                _("No terminal to ask for the password: pass it on stdin with --password-stdin.")
            )
        first = getpass.getpass(_("Password: "))
        if first != getpass.getpass(_("Password (again): ")):
            raise CommandError(_("The two passwords differ."))
        return first

    def _invite(self, workspace: Workspace, options: dict[str, Any]) -> dict[str, Any]:
        made = service.invite(
            workspace,
            role=Role(options["role"]),
            email=options["email"],
            days=options["days"],
            actor=None,
            label=LABEL,
        )
        invitation = made.invitation
        if not options["json"]:
            self.stdout.write(made.url)
            self.stderr.write(
                _(
                    "Send this link to the person you invite. It works once, until %(expires)s, "
                    "and joins them as %(role)s."
                )
                % {
                    "expires": invitation.expires_at.astimezone(workspace.tzinfo).strftime(
                        "%Y-%m-%d %H:%M %Z"
                    ),
                    "role": invitation.get_role_display(),
                }
            )
        return {
            "id": invitation.pk,
            "url": made.url,
            "role": invitation.role,
            "email": invitation.email,
            "expires_at": invitation.expires_at.isoformat(),
        }

    def _list(self, workspace: Workspace, options: dict[str, Any]) -> list[dict[str, Any]]:
        rows = [_describe(m) for m in service.members_of(workspace)]
        if not options["json"]:
            for row in rows:
                self.stdout.write(f"{row['username']:<24} {row['role']:<10} {row['email'] or '-'}")
        return rows

    def _role(self, workspace: Workspace, options: dict[str, Any]) -> dict[str, Any]:
        found = service.member_by_username(workspace, options["username"])
        membership = service.change_member_role(
            workspace, membership_id=found.pk, role=Role(options["role"]), actor=None, label=LABEL
        )
        if not options["json"]:
            self.stdout.write(
                _("%(user)s is now %(role)s in %(workspace)s.")
                % {
                    "user": membership.user.get_username(),
                    "role": membership.get_role_display(),
                    "workspace": workspace.slug,
                }
            )
        return _describe(membership)

    def _remove(self, workspace: Workspace, options: dict[str, Any]) -> dict[str, Any]:
        found = service.member_by_username(workspace, options["username"])
        service.remove_member(workspace, membership_id=found.pk, actor=None, label=LABEL)
        if not options["json"]:
            self.stdout.write(
                _("%(user)s was removed from %(workspace)s.")
                % {"user": options["username"], "workspace": workspace.slug}
            )
        return {"username": options["username"], "removed": True}


def _workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", required=True, help="workspace slug")


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _describe(membership: Membership) -> dict[str, Any]:
    user = membership.user
    return {
        "username": user.get_username(),
        "email": user.email,
        "role": membership.role,
        "joined_at": membership.created_at.isoformat(),
    }


def _problems(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(
            f"--{name.replace('_', '-')}: {message}" if name != "__all__" else message
            for name, messages in exc.message_dict.items()
            for message in messages
        )
    return "\n".join(exc.messages)
