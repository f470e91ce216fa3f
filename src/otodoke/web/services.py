"""Workspace settings actions the settings pages need beyond `otodoke.workspaces.services`
(credentials) and `otodoke.workspaces.members` (members, invitations). Each checks its
permission itself, so a view cannot forget to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Q, QuerySet

from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import record_audit, require

AnyUser = User | AnonymousUser
SETTINGS_FIELDS = ("plan", "time_zone", "require_approval", "link_keyword")


@transaction.atomic
def update_workspace_settings(
    workspace: Workspace,
    *,
    actor: AnyUser,
    plan: str,
    time_zone: str,
    require_approval: bool,
    link_keyword: str | None = None,
) -> list[str]:
    """Change plan, time zone, the approval rule and the account-link keyword (None: leave
    it); audit old and new values. Returns the names of the fields that changed (none:
    nothing is written)."""
    require(actor, workspace, Permission.MANAGE_SETTINGS)
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    new: dict[str, object] = {
        "plan": plan,
        "time_zone": time_zone,
        "require_approval": require_approval,
    }
    if link_keyword is not None:
        new["link_keyword"] = link_keyword.strip()
    changes = {
        name: [getattr(locked, name), value]
        for name, value in new.items()
        if getattr(locked, name) != value
    }
    if not changes:
        return []
    for name, (_old, value) in changes.items():
        setattr(locked, name, value)
    locked.full_clean(exclude=["channel_secret", "channel_access_token"])
    locked.save(update_fields=[*changes, "updated_at"])
    for name, (_old, value) in changes.items():
        setattr(workspace, name, value)
    record_audit(workspace, AuditAction.SETTINGS_CHANGED, actor=actor, details=changes)
    return list(changes)


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None


def audit_entries(workspace: Workspace, query: AuditFilter) -> QuerySet[AuditLog]:
    """The workspace's audit log, newest first; dates are whole days in its time zone."""
    entries = AuditLog.objects.filter(workspace=workspace).select_related("actor")
    if query.action:
        entries = entries.filter(action=query.action)
    if query.actor:
        entries = entries.filter(
            Q(actor_label__icontains=query.actor) | Q(actor__email__iexact=query.actor)
        )
    tz = workspace.tzinfo
    if query.since:
        entries = entries.filter(created_at__gte=datetime.combine(query.since, time(), tz))
    if query.until:
        end = datetime.combine(query.until + timedelta(days=1), time(), tz)
        entries = entries.filter(created_at__lt=end)
    return entries
