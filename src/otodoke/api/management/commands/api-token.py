# ruff: noqa: N999 - the file name is the command name users type: `otodoke api-token`
"""`otodoke api-token create|list|revoke|me`: manage a workspace's API tokens from a shell.

The CLI is the server operator, so it needs no staff login; every create and revoke is still
written to the workspace's audit log (actor "cli").
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import to_json
from otodoke.api.models import ApiToken, Scope
from otodoke.api.routers.me import token_out
from otodoke.api.services import create_token, find_token, revoke_token
from otodoke.core.commands import OtodokeCommand
from otodoke.workspaces.models import Workspace


class Command(OtodokeCommand):
    help = gettext_noop("Create, list and revoke API tokens of a workspace.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token (the secret is shown once)")
        create.add_argument("--workspace", required=True, help="workspace slug")
        create.add_argument("--name", required=True, help="what the token is for")
        create.add_argument(
            "--scopes",
            default="read",
            help="comma-separated: " + ", ".join(s.value for s in Scope) + " (default read)",
        )
        create.add_argument("--rate", type=int, help="requests per minute (default 600)")
        create.add_argument("--burst", type=int, help="burst size (default 60)")
        create.add_argument("--json", action="store_true", help="print the result as JSON")
        listing = sub.add_parser("list", help="list tokens (never their secrets)")
        listing.add_argument("--workspace", help="workspace slug (default: all)")
        listing.add_argument("--all", action="store_true", help="include revoked tokens")
        listing.add_argument("--json", action="store_true")
        revoke = sub.add_parser("revoke", help="revoke a token at once")
        revoke.add_argument("key_id", help="the token's key ID (see list)")
        revoke.add_argument("--json", action="store_true")
        me = sub.add_parser("me", help="check a token: its workspace and scopes (as GET /me)")
        me.add_argument(
            "--token", help="the token (default: the OTODOKE_API_TOKEN environment variable)"
        )
        me.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(_("No workspace %(slug)r") % {"slug": options["workspace"]})
        try:
            created = create_token(
                workspace,
                name=options["name"],
                scopes=options["scopes"].split(","),
                actor_name="cli",
                rate_per_minute=options["rate"],
                burst=options["burst"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        data = {**_describe(created.token), "token": created.plaintext}
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False))
            return
        self.stdout.write(
            _("Created API token %(key)s (%(name)s)")
            % {"key": created.token.key_id, "name": created.token.name}
        )
        self.stdout.write(_("Copy it now; it is not stored and cannot be shown again:"))
        self.stdout.write(created.plaintext)

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("workspace").order_by("workspace__slug", "pk")
        if options["workspace"]:
            tokens = tokens.filter(workspace__slug=options["workspace"])
        if not options["all"]:
            tokens = tokens.active()
        rows = [_describe(t) for t in tokens]
        if options["json"]:
            self.stdout.write(json.dumps(rows, ensure_ascii=False))
            return
        for row in rows:
            state = "revoked" if row["revoked_at"] else "active"
            used = row["last_used_at"] or "never"
            self.stdout.write(
                f"{row['key_id']}  {row['workspace']:<20} {row['name']:<24} "
                f"{','.join(row['scopes']):<20} {state:<8} last used {used}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        token = (
            ApiToken.objects.select_related("workspace").filter(key_id=options["key_id"]).first()
        )
        if token is None:
            raise CommandError(_("No API token with key ID %(key)r") % {"key": options["key_id"]})
        revoked = revoke_token(token, actor_name="cli")
        if options["json"]:
            self.stdout.write(json.dumps({**_describe(token), "changed": revoked}))
        elif revoked:
            self.stdout.write(
                _("Revoked API token %(key)s (%(name)s)")
                % {"key": token.key_id, "name": token.name}
            )
        else:
            self.stdout.write(_("API token %(key)s was already revoked") % {"key": token.key_id})

    def _me(self, options: dict[str, Any]) -> None:
        # From the environment by default, so the secret stays out of shell history.
        secret = (options["token"] or os.environ.get("OTODOKE_API_TOKEN", "")).strip()
        token = find_token(secret) if secret else None
        if token is None:
            message = "Not an active API token (unknown, mistyped or revoked)"
            if options["json"]:
                body = {"error": {"code": "not_authenticated", "message": message, "details": []}}
                self.stdout.write(json.dumps(body))
            raise CommandError(message)
        out = token_out(token)
        if options["json"]:
            self.stdout.write(to_json(out))
            return
        self.stdout.write(
            f"{out.key_id}  {out.name}  workspace {out.workspace.slug} ({out.workspace.name})  "
            f"scopes {','.join(out.scopes)}  {out.rate_per_minute}/min, burst {out.burst}"
        )


def _describe(token: ApiToken) -> dict[str, Any]:
    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "key_id": token.key_id,
        "name": token.name,
        "workspace": token.workspace.slug,
        "scopes": token.scopes,
        "rate_per_minute": token.rate_per_minute,
        "burst": token.burst,
        "created_by": token.created_by_label,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }
