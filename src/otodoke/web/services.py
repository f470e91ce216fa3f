"""Workspace settings and membership actions the settings pages need beyond
`otodoke.workspaces.services` (which they call for roles and credentials). Each checks its
permission itself, so a view cannot forget to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from otodoke.workspaces.models import AuditAction, AuditLog, Membership, Workspace
from otodoke.workspaces.roles import Permission, Role
from otodoke.workspaces.services import record_audit, require, set_member_role

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


def find_staff_login(identifier: str) -> User:
    """A staff login by username, or by e-mail when exactly one login has it."""
    identifier = identifier.strip()
    user = User.objects.filter(username=identifier, is_active=True).first()
    if user is not None:
        return user
    by_email = list(User.objects.filter(email__iexact=identifier, is_active=True)[:2])
    if len(by_email) == 1:
        return by_email[0]
    if by_email:
        raise ValidationError(_("Several logins use this e-mail; enter the username instead."))
    raise ValidationError(_("No staff login has this username or e-mail."))


def add_member(workspace: Workspace, *, identifier: str, role: Role, actor: AnyUser) -> Membership:
    require(actor, workspace, Permission.MANAGE_MEMBERS)
    user = find_staff_login(identifier)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError(
            _("%(user)s is already a member; change the role in the list instead.")
            % {"user": user.get_username()}
        )
    return set_member_role(workspace, user, role, actor=actor)


def _would_leave_no_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER:
        return False
    others = Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER)
    return not others.exclude(pk=membership.pk).exists()


@transaction.atomic
def change_member_role(
    workspace: Workspace, *, membership_id: int, role: Role, actor: AnyUser
) -> Membership:
    require(actor, workspace, Permission.MANAGE_MEMBERS)
    membership = Membership.objects.select_for_update().get(pk=membership_id, workspace=workspace)
    if role != Role.OWNER and _would_leave_no_owner(membership):
        # Without an owner nobody could add members or change roles any more.
        raise ValidationError(_("A workspace needs at least one owner."))
    if membership.role == role:
        return membership
    return set_member_role(workspace, membership.user, role, actor=actor)


@transaction.atomic
def remove_member(workspace: Workspace, *, membership_id: int, actor: AnyUser) -> None:
    require(actor, workspace, Permission.MANAGE_MEMBERS)
    membership = Membership.objects.select_for_update().get(pk=membership_id, workspace=workspace)
    if _would_leave_no_owner(membership):
        raise ValidationError(_("A workspace needs at least one owner."))
    username = membership.user.get_username()
    membership.delete()
    record_audit(workspace, AuditAction.MEMBER_REMOVED, actor=actor, target=username)


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
