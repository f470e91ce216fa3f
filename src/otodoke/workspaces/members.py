"""Staff logins and their memberships: create a login, invite by link, change roles, remove.

Staff are ordinary Django users (never `is_staff`/`is_superuser`): what they may do comes from
their role in each workspace (`roles.py`), checked by the UI, the API and the CLI alike. Only a
member with Permission.MANAGE_MEMBERS manages members; `actor=None` is the server operator on
the command line (audited as `label`, "cli"). A workspace always keeps at least one owner.

Invitations are single-use links that expire: the secret in the link is 32 random bytes shown
once (`invite`); the database keeps only its SHA-256, as for API tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.workspaces.models import AuditAction, Invitation, Membership, Workspace
from otodoke.workspaces.roles import Permission, Role
from otodoke.workspaces.services import record_audit, require, set_member_role

AnyUser = User | AnonymousUser

# How long an invitation link works unless the inviter says otherwise.
INVITATION_DAYS = 7
MAX_INVITATION_DAYS = 30
INVITE_PATH = "/invite/{token}/"


def _check(actor: AnyUser | None, workspace: Workspace) -> None:
    if actor is not None:
        require(actor, workspace, Permission.MANAGE_MEMBERS)


# --- logins ----------------------------------------------------------------------------------


def _clean_login(username: str, email: str, password: str) -> tuple[str, str]:
    """Check a new login's username, e-mail and password; every problem at once, per field."""
    username, email = username.strip(), email.strip()
    problems: dict[str, list[str]] = {}
    candidate = User(username=username, email=email)
    if not username:
        problems["username"] = [_("Enter a username.")]
    else:
        try:
            candidate.clean_fields(exclude=["password", "email"])
        except ValidationError as exc:
            problems.update({k: list(v) for k, v in exc.message_dict.items() if k == "username"})
        if User.objects.filter(username__iexact=username).exists():
            problems.setdefault("username", []).append(
                _("The username “%(username)s” is already taken.") % {"username": username}
            )
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems["email"] = [_("“%(email)s” is not a valid e-mail address.") % {"email": email}]
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        problems["password"] = list(exc.messages)
    if problems:
        raise ValidationError(problems)
    return username, email


def _new_login(username: str, email: str, password: str) -> User:
    username, email = _clean_login(username, email, password)
    # An ordinary user: no Django admin, no superuser powers; roles say the rest.
    return User.objects.create_user(username, email, password, is_staff=False)


@transaction.atomic
def create_member(
    workspace: Workspace,
    *,
    username: str,
    email: str,
    password: str,
    role: Role,
    actor: AnyUser | None,
    label: str | None = None,
) -> Membership:
    """A new staff login with `role` in `workspace`; nothing is created when any field is bad."""
    _check(actor, workspace)
    user = _new_login(username, email, password)
    record_audit(
        workspace, AuditAction.LOGIN_CREATED, actor=actor, label=label, target=user.username
    )
    return set_member_role(workspace, user, role, actor=actor, label=label)


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


def add_member(
    workspace: Workspace,
    *,
    identifier: str,
    role: Role,
    actor: AnyUser | None,
    label: str | None = None,
) -> Membership:
    """An existing login (another workspace's member, say) joins `workspace` with `role`."""
    _check(actor, workspace)
    user = find_staff_login(identifier)
    if Membership.objects.filter(workspace=workspace, user=user).exists():
        raise ValidationError(
            _("%(user)s is already a member; change the role in the list instead.")
            % {"user": user.get_username()}
        )
    return set_member_role(workspace, user, role, actor=actor, label=label)


# --- roles and removal -----------------------------------------------------------------------


def _would_leave_no_owner(membership: Membership) -> bool:
    if membership.role != Role.OWNER:
        return False
    others = Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER)
    return not others.exclude(pk=membership.pk).exists()


def _locked_owners(workspace: Workspace) -> None:
    # Two owners demoting each other at once must not both succeed: lock the owner rows first.
    list(Membership.objects.select_for_update().filter(workspace=workspace, role=Role.OWNER))


@transaction.atomic
def change_member_role(
    workspace: Workspace,
    *,
    membership_id: int,
    role: Role,
    actor: AnyUser | None,
    label: str | None = None,
) -> Membership:
    _check(actor, workspace)
    _locked_owners(workspace)
    membership = Membership.objects.select_for_update().get(pk=membership_id, workspace=workspace)
    if role != Role.OWNER and _would_leave_no_owner(membership):
        # Without an owner nobody could add members or change roles any more.
        raise ValidationError(_("A workspace needs at least one owner."))
    if membership.role == role:
        return membership
    return set_member_role(workspace, membership.user, role, actor=actor, label=label)


@transaction.atomic
def remove_member(
    workspace: Workspace,
    *,
    membership_id: int,
    actor: AnyUser | None,
    label: str | None = None,
) -> None:
    """The login loses access to this workspace (it stays, for its other workspaces and the
    audit log)."""
    _check(actor, workspace)
    _locked_owners(workspace)
    membership = Membership.objects.select_for_update().get(pk=membership_id, workspace=workspace)
    if _would_leave_no_owner(membership):
        raise ValidationError(_("A workspace needs at least one owner."))
    username = membership.user.get_username()
    membership.delete()
    record_audit(workspace, AuditAction.MEMBER_REMOVED, actor=actor, label=label, target=username)


def member_by_username(workspace: Workspace, username: str) -> Membership:
    found = (
        Membership.objects.select_related("user")
        .filter(workspace=workspace, user__username=username)
        .first()
    )
    if found is None:
        raise ValidationError(
            _("%(user)s is not a member of %(workspace)s.")
            % {"user": username, "workspace": workspace.name}
        )
    return found


def members_of(workspace: Workspace) -> list[Membership]:
    return list(
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__username")
    )


# --- invitations -----------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return settings.PUBLIC_BASE_URL + INVITE_PATH.format(token=token)


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str  # shown once; only its hash is stored

    @property
    def url(self) -> str:
        return invitation_url(self.token)


@transaction.atomic
def invite(
    workspace: Workspace,
    *,
    role: Role,
    actor: AnyUser | None,
    email: str = "",
    days: int = INVITATION_DAYS,
    label: str | None = None,
) -> NewInvitation:
    _check(actor, workspace)
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValidationError(
                {"email": [_("“%(email)s” is not a valid e-mail address.") % {"email": email}]}
            ) from exc
    if not 1 <= days <= MAX_INVITATION_DAYS:
        raise ValidationError(
            {
                "days": [
                    _("An invitation works for 1 to %(max)d days.") % {"max": MAX_INVITATION_DAYS}
                ]
            }
        )
    token = secrets.token_urlsafe(32)
    by = label or (actor.get_username() if actor is not None and actor.is_authenticated else "cli")
    invitation = Invitation.objects.create(
        workspace=workspace,
        role=role,
        email=email,
        token_hash=_hash(token),
        created_by=actor if isinstance(actor, User) else None,
        created_by_label=by,
        expires_at=timezone.now() + timedelta(days=days),
    )
    record_audit(
        workspace,
        AuditAction.MEMBER_INVITED,
        actor=actor,
        label=label,
        target=email,
        details={"role": str(role), "invitation": invitation.pk, "days": days},
    )
    return NewInvitation(invitation, token)


class InvitationError(Exception):
    """The link cannot be used (unknown, used, revoked or expired); the message says which."""


def open_invitation(token: str, *, lock: bool = False) -> Invitation:
    """The invitation behind a link, if it can still be used."""
    found = Invitation.objects.select_related("workspace")
    if lock:
        found = found.select_for_update()
    invitation = found.filter(token_hash=_hash(token)).first() if token else None
    if invitation is None:
        raise InvitationError(
            _("This invitation link is not valid. Check that the whole link was copied.")
        )
    if invitation.accepted_at is not None:
        raise InvitationError(
            _("This invitation has already been used. Ask for a new one if you still need it.")
        )
    if invitation.revoked_at is not None:
        raise InvitationError(_("This invitation was withdrawn. Ask for a new one."))
    if invitation.expires_at <= timezone.now():
        raise InvitationError(_("This invitation has expired. Ask for a new one."))
    return invitation


def _join(invitation: Invitation, user: User) -> Membership:
    workspace = invitation.workspace
    existing = Membership.objects.filter(workspace=workspace, user=user).first()
    if existing is not None:
        raise ValidationError(
            _("%(user)s is already a member of %(workspace)s.")
            % {"user": user.get_username(), "workspace": workspace.name}
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    membership = Membership.objects.create(workspace=workspace, user=user, role=invitation.role)
    record_audit(
        workspace,
        AuditAction.INVITATION_ACCEPTED,
        actor=user,
        target=user.get_username(),
        details={"role": invitation.role, "invitation": invitation.pk},
    )
    return membership


@transaction.atomic
def accept_with_new_login(token: str, *, username: str, email: str, password: str) -> Membership:
    """The invitee makes a login and joins; the link is used up (two tabs: one wins)."""
    invitation = open_invitation(token, lock=True)
    return _join(invitation, _new_login(username, email, password))


@transaction.atomic
def accept_as(token: str, user: User) -> Membership:
    """A person who already has a login (another workspace's member) joins with it."""
    return _join(open_invitation(token, lock=True), user)


@transaction.atomic
def revoke_invitation(
    workspace: Workspace, *, invitation_id: int, actor: AnyUser | None, label: str | None = None
) -> None:
    _check(actor, workspace)
    invitation = Invitation.objects.select_for_update().get(pk=invitation_id, workspace=workspace)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_audit(
        workspace,
        AuditAction.INVITATION_REVOKED,
        actor=actor,
        label=label,
        target=invitation.email,
        details={"invitation": invitation.pk},
    )


def pending_invitations(workspace: Workspace) -> list[Invitation]:
    return list(Invitation.objects.filter(workspace=workspace).pending())
