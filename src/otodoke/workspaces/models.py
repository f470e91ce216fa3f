from __future__ import annotations

import secrets
import zoneinfo
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otodoke.core.crypto import EncryptedTextField
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.roles import Permission, Role, permissions_for

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("%(tz)s is not a known time zone"), params={"tz": value}) from exc


def new_webhook_key() -> str:
    return secrets.token_urlsafe(24)


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def for_user(self, user: User | AnonymousUser) -> WorkspaceQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Workspace(models.Model):
    """One LINE Official Account (one Messaging API channel)."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    channel_id = models.CharField(_("channel ID"), max_length=20)
    channel_secret = EncryptedTextField(_("channel secret"))
    channel_access_token = EncryptedTextField(_("channel access token"))
    api_base_url = models.URLField(_("LINE API base URL"), default="https://api.line.me")
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Tokyo", validators=[validate_time_zone]
    )
    plan = models.CharField(_("plan"), max_length=20, choices=Plan, default=Plan.COMMUNICATION)
    # The unguessable part of this workspace's webhook URL.
    webhook_key = models.CharField(max_length=64, unique=True, default=new_webhook_key)
    require_approval = models.BooleanField(_("sends need approval"), default=False)
    # A friend who sends exactly this text gets the account-link invitation ("" = off).
    link_keyword = models.CharField(_("account-link keyword"), max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def webhook_path(self) -> str:
        return f"/line/webhook/{self.webhook_key}/"

    def webhook_url(self) -> str:
        return settings.PUBLIC_BASE_URL + self.webhook_path()


class Membership(models.Model):
    """A staff login's role in one workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.workspace} ({self.role})"

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.role)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


class AuditAction(models.TextChoices):
    WORKSPACE_CREATED = "workspace.created", _("Workspace created")
    SETTINGS_CHANGED = "settings.changed", _("Settings changed")
    CREDENTIALS_CHANGED = "credentials.changed", _("Channel credentials changed")
    MEMBER_ADDED = "member.added", _("Member added")
    MEMBER_ROLE_CHANGED = "member.role_changed", _("Member role changed")
    MEMBER_REMOVED = "member.removed", _("Member removed")
    EXPORTED = "export", _("Exported")
    PII_VIEWED = "pii.viewed", _("Personal data viewed")
    IMPORTED = "import", _("Imported")
    CAMPAIGN_SENT = "campaign.sent", _("Campaign sent")
    CAMPAIGN_APPROVED = "campaign.approved", _("Campaign approved")
    CAMPAIGN_CANCELLED = "campaign.cancelled", _("Campaign cancelled")
    QUOTA_OVERRIDE = "campaign.quota_override", _("Quota limit overridden")
    API_TOKEN_CREATED = "api_token.created", _("API token created")
    API_TOKEN_REVOKED = "api_token.revoked", _("API token revoked")
    SEGMENT_DELETED = "segment.deleted", _("Segment deleted")
    LINK_INVITED = "line.link_invited", _("Account-link invitation sent")
    WEBHOOKS_RETRIED = "webhooks.retried", _("Webhook events retried")
    LOGIN_CREATED = "member.login_created", _("Staff login created")
    MEMBER_INVITED = "member.invited", _("Member invited")
    INVITATION_ACCEPTED = "member.invitation_accepted", _("Invitation accepted")
    INVITATION_REVOKED = "member.invitation_revoked", _("Invitation revoked")
    CONTACT_UNLINKED = "contact.unlinked", _("LINE account unlinked")
    CONTACT_DELETED = "contact.deleted", _("Contact deleted (personal data erased)")


class AuditLog(models.Model):
    """Who did what, when. Rows are only ever added."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="audit_log", null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Kept as text too, so the log still says who it was after a user is deleted, and so
    # non-human actors (the CLI, an API token) are named.
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=40, choices=AuditAction)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit log entries are append-only")
        super().save(*args, **kwargs)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """A single-use, expiring link that makes whoever opens it a member with `role`.

    The link's secret is shown once, when the invitation is made; only its SHA-256 is stored
    (like API tokens: 32 random bytes need no slow KDF), so the database alone cannot be used
    to join a workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(_("role"), max_length=20, choices=Role)
    # Who it is for, as the inviter typed it: a reminder in the list and the form's default.
    email = models.EmailField(_("e-mail"), blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by_label = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.workspace} {self.role} {self.email or '-'}"
