"""Named actions that change workspaces, memberships and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from otodoke.workspaces.models import AuditAction, AuditLog, Membership, Workspace
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.roles import Permission, Role

AnyUser = User | AnonymousUser


def actor_label(user: AnyUser | None, fallback: str = "system") -> str:
    if user is None or not user.is_authenticated:
        return fallback
    return user.get_username()


def record_audit(
    workspace: Workspace | None,
    action: AuditAction,
    *,
    actor: AnyUser | None = None,
    label: str | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditLog.objects.create(
        workspace=workspace,
        actor=user,
        actor_label=label or actor_label(actor),
        action=action,
        target=target[:200],
        details=details or {},
    )


def _unique_slug(name: str) -> str:
    base = slugify(name, allow_unicode=False)[:40] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


# The LINE channel's fields, which a workspace made in the UI may still lack (the dashboard's
# first run then asks to connect the channel).
CREDENTIAL_FIELDS = ("channel_id", "channel_secret", "channel_access_token")


def can_create_workspace(user: AnyUser) -> bool:
    """Who may create workspaces from the UI: superusers, and owners of any workspace (a
    shop owner opening a second shop's account). Others ask one of them, or use the CLI."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(user_id=user.pk, role=Role.OWNER).exists()


@transaction.atomic
def create_workspace(
    *,
    name: str,
    api_base_url: str,
    channel_id: str = "",
    channel_secret: str = "",
    channel_access_token: str = "",
    plan: str = Plan.COMMUNICATION,
    time_zone: str = "Asia/Tokyo",
    slug: str | None = None,
    owner: User | None = None,
    actor: AnyUser | None = None,
    actor_name: str | None = None,
) -> Workspace:
    workspace = Workspace(
        name=name,
        slug=slug or _unique_slug(name),
        channel_id=channel_id,
        channel_secret=channel_secret,
        channel_access_token=channel_access_token,
        api_base_url=api_base_url.rstrip("/"),
        plan=plan,
        time_zone=time_zone,
    )
    # Credentials left empty are connected later on the channel page.
    workspace.full_clean(exclude=[f for f in CREDENTIAL_FIELDS if not getattr(workspace, f)])
    workspace.save()
    if owner is not None:
        Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    record_audit(
        workspace,
        AuditAction.WORKSPACE_CREATED,
        actor=actor or owner,
        label=actor_name,
        target=workspace.slug,
        details={"channel_id": channel_id, "plan": plan, "api_base_url": api_base_url},
    )
    return workspace


@transaction.atomic
def update_credentials(
    workspace: Workspace,
    *,
    actor: AnyUser,
    channel_secret: str | None = None,
    channel_access_token: str | None = None,
    channel_id: str | None = None,
) -> None:
    require(actor, workspace, Permission.MANAGE_SETTINGS)
    changed = []
    if channel_id and channel_id != workspace.channel_id:
        workspace.channel_id = channel_id
        changed.append("channel_id")
    if channel_secret:
        workspace.channel_secret = channel_secret
        changed.append("channel_secret")
    if channel_access_token:
        workspace.channel_access_token = channel_access_token
        changed.append("channel_access_token")
    if changed:
        workspace.save(update_fields=[*changed, "updated_at"])
        # The audit log names what changed, never the values.
        record_audit(
            workspace, AuditAction.CREDENTIALS_CHANGED, actor=actor, details={"fields": changed}
        )


@transaction.atomic
def set_member_role(
    workspace: Workspace,
    user: User,
    role: Role,
    *,
    actor: AnyUser | None,
    label: str | None = None,
) -> Membership:
    if actor is not None:
        require(actor, workspace, Permission.MANAGE_MEMBERS)
    membership, created = Membership.objects.update_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    record_audit(
        workspace,
        AuditAction.MEMBER_ADDED if created else AuditAction.MEMBER_ROLE_CHANGED,
        actor=actor,
        label=label,
        target=user.get_username(),
        details={"role": str(role)},
    )
    return membership


def membership(user: AnyUser, workspace: Workspace) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).first()


def can(user: AnyUser, workspace: Workspace, permission: Permission) -> bool:
    found = membership(user, workspace)
    return found is not None and found.can(permission)


def require(user: AnyUser, workspace: Workspace, permission: Permission) -> None:
    if not can(user, workspace, permission):
        raise PermissionDenied(
            _("You do not have the “%(permission)s” permission in %(workspace)s")
            % {"permission": permission.value, "workspace": workspace.name}
        )
