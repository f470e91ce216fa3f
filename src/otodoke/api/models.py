"""API tokens: per-workspace secrets with scopes, stored only as a hash."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission


class Scope(StrEnum):
    """What a token may do. Each scope grants exactly one workspace permission, so the API
    checks the same permissions as the UI (see `SCOPE_PERMISSIONS`)."""

    READ = "read"
    WRITE = "write"
    SEND = "send"
    # LINE user IDs, phone numbers and e-mail addresses: only with this explicit scope, like
    # the UI's "view personal data" permission.
    PII = "pii"
    # Export files for LINE's upload screens (LINE user IDs, e-mails, phones): a separate scope
    # because a file leaves Otodoke's audit trail once downloaded, like the UI's export right.
    EXPORT = "export"
    # Deleting contacts for good (a customer's deletion request): never implied by write.
    DELETE = "delete"


SCOPE_PERMISSIONS: dict[Scope, Permission] = {
    Scope.READ: Permission.VIEW,
    Scope.WRITE: Permission.EDIT,
    Scope.SEND: Permission.SEND,
    Scope.PII: Permission.VIEW_PII,
    Scope.EXPORT: Permission.EXPORT,
    Scope.DELETE: Permission.DELETE_CONTACTS,
}

# Default per-token rate: a steady 10 requests/s with bursts of 60. A bulk request carries up
# to 1,000 items, so this is ample for integrations and still stops a runaway loop.
DEFAULT_RATE_PER_MINUTE = 600
DEFAULT_BURST = 60


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """One API token. The secret is shown once at creation; only its SHA-256 is stored.

    `key_id` is the non-secret part of the token (`otd_<key_id>_<secret>`): the token is found
    by it, then the hash is compared in constant time, so lookups never compare secrets in SQL.
    A plain SHA-256 suffices (no slow KDF) because the secret is 32 random bytes, not a password.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"), default=DEFAULT_RATE_PER_MINUTE
    )
    burst = models.PositiveIntegerField(_("burst"), default=DEFAULT_BURST)
    # Rate limiting state (GCRA, see `services.consume_rate`): the "theoretical arrival time" in
    # microseconds since the epoch. Kept in the database so every web process shares it.
    throttle_tat = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Who created it as text too: the CLI has no user.
    created_by_label = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.key_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope_set(self) -> frozenset[Scope]:
        known = {s.value for s in Scope}
        return frozenset(Scope(s) for s in self.scopes if s in known)

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(SCOPE_PERMISSIONS[s] for s in self.scope_set)
