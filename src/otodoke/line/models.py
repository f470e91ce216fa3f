"""What LINE told us (webhook events, stored raw) and the state of account linking."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


class WebhookStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    PROCESSED = "processed", _("Processed")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored")
    # Stored as LINE sent it but never applied: it names no valid LINE user (see `outcome`).
    REJECTED = "rejected", _("Rejected")


class WebhookEventQuerySet(models.QuerySet["WebhookEvent"]):
    def unfinished(self) -> WebhookEventQuerySet:
        """Events still owed processing: never processed yet, or failed."""
        return self.filter(status__in=[WebhookStatus.PENDING, WebhookStatus.FAILED])

    def failed(self) -> WebhookEventQuerySet:
        return self.filter(status=WebhookStatus.FAILED)


class WebhookEvent(models.Model):
    """One event from a LINE webhook, stored raw before the 200 and processed afterwards.

    `(workspace, webhook_event_id)` is unique: LINE redelivers and sometimes duplicates events
    with the same ID, and the constraint (with `ignore_conflicts`) is what keeps one row each.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="webhook_events"
    )
    webhook_event_id = models.CharField(max_length=64)
    event_type = models.CharField(_("type"), max_length=40)
    raw = models.JSONField()
    source_user_id = models.CharField(max_length=64, blank=True)
    # When the event happened at LINE (its `timestamp`), which orders follow/unfollow; not
    # when it reached us.
    timestamp = models.DateTimeField()
    is_redelivery = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=WebhookStatus, default=WebhookStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When an automatic retry is due after a failure (for the admin view; the task queue
    # holds the real schedule).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # What processing did or why it did nothing ("linked contact 12", "nonce already used").
    outcome = models.CharField(max_length=200, blank=True)
    # The parsed, typed part later features read: postback data as a dict, message text, …
    payload = models.JSONField(default=dict, blank=True)
    # A drainer's claim on a pending event (services.claim_batch): until `claimed_until` no
    # other drainer takes it; after that (the drainer crashed) it is pending for anyone again.
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    objects = WebhookEventQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "webhook_event_id"], name="webhook_event_once_per_workspace"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "status"], name="webhookevent_ws_status"),
            models.Index(
                fields=["workspace", "timestamp", "id"],
                condition=models.Q(status="pending"),
                name="webhookevent_pending",
            ),
            models.Index(
                fields=["workspace", "source_user_id", "event_type", "timestamp"],
                name="webhookevent_ws_user_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_event_id} ({self.status})"


class IssuedLinkToken(models.Model):
    """A link token LINE issued to us for one friend. The verification page works only for a
    token recorded here, unexpired (LINE: 10 minutes) and not yet used (LINE: single use), so
    a made-up token can never be used to ask "does member N have birth date D"."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="issued_link_tokens"
    )
    line_user_id = models.CharField(max_length=64)
    token = models.CharField(max_length=255)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # When LINE consumed it (the accountLink event for one of its nonces arrived).
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("link token")
        verbose_name_plural = _("link tokens")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "token"], name="issued_link_token_once_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"link token for {self.line_user_id} ({self.issued_at:%Y-%m-%d %H:%M})"


class AccountLinkNonce(models.Model):
    """Proof that a customer passed our verification page, waiting for LINE's accountLink event.

    Single use (`used_at`) and short-lived (`expires_at`); claimed with a conditional UPDATE so
    two deliveries of one event can never both link.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="account_link_nonces"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="account_link_nonces"
    )
    nonce = models.CharField(max_length=64, unique=True)
    link_token = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # The LINE user the accountLink event named when the nonce was used.
    used_by_line_user_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("account-link nonce")
        verbose_name_plural = _("account-link nonces")

    def __str__(self) -> str:
        return f"nonce for contact {self.contact_id}"


class LinkVerificationAttempt(models.Model):
    """One submission of the verification form, counted for the anti-guessing limit.

    Rows are written before the answer is checked, so concurrent guesses all count.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="link_verification_attempts"
    )
    link_token = models.CharField(max_length=255)
    # The friend the token was issued for: limits count per friend too, so one customer's
    # guesses (or many customers behind one proxy) never lock out the others.
    line_user_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    succeeded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(
                fields=["workspace", "link_token", "created_at"],
                name="linkattempt_token",
            ),
            models.Index(fields=["workspace", "ip_address", "created_at"], name="linkattempt_ip"),
            models.Index(
                fields=["workspace", "line_user_id", "created_at"], name="linkattempt_friend"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.link_token[:8]}… from {self.ip_address} ({self.created_at:%H:%M:%S})"


class MissingProfile(models.Model):
    """A friend whose LINE profile could not be fetched when they followed (timeout, 5xx, 429):
    the follow was applied without a name, and the profile is fetched again later, with
    backoff (`otodoke.line.profiles`). Removed once fetched, or once LINE says there is none
    to give (404: no longer a friend)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="missing_profiles"
    )
    line_user_id = models.CharField(max_length=64)
    attempts = models.PositiveIntegerField(default=0)
    # When the next fetch is due; None once automatic attempts are used up.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("missing LINE profile")
        verbose_name_plural = _("missing LINE profiles")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "line_user_id"], name="missing_profile_once_per_friend"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "next_attempt_at"], name="missingprofile_due"),
        ]

    def __str__(self) -> str:
        return f"profile of {self.line_user_id} ({self.attempts} attempts)"


class LinkCheckStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Checking")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class LinkCheck(models.Model):
    """One check of linked LINE user IDs whose friend status is unknown (imported links: no
    follow webhook ever comes for someone who followed long ago), against LINE's follower-ID
    list or its profile endpoint (`otodoke.line.verify`)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="link_checks")
    status = models.CharField(
        max_length=10, choices=LinkCheckStatus, default=LinkCheckStatus.QUEUED
    )
    # "import", "cli" or the staff login who pressed the button.
    requested_by = models.CharField(max_length=150, blank=True)
    # "followers" (LINE's follower-ID list) or "profile" (one profile call per ID).
    method = models.CharField(max_length=10, blank=True)
    checked = models.PositiveIntegerField(default=0)
    following = models.PositiveIntegerField(default=0)
    not_found = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("LINE friend check")
        verbose_name_plural = _("LINE friend checks")

    def __str__(self) -> str:
        return f"link check {self.pk} ({self.status})"
