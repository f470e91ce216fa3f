"""Campaigns and their deliveries: payload → batch (one LINE request, one retry key) → recipients.

A `Delivery` is one execution of a campaign (the live send, or a test send). Its recipients are
frozen once (`DeliveryRecipient`), then split into `Batch` rows; each batch's retry key is
written when the batch is created, long before its first attempt, and reused on every retry.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    SENT = "sent", _("Sent")
    # Finished, but some recipients failed (or their outcome is unknown); none failed is SENT,
    # none delivered is FAILED.
    PARTIAL = "partial", _("Partly failed")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class Campaign(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(_("name"), max_length=200)
    # 1–5 LINE message objects, possibly with {{ placeholders }}; validated on save.
    messages = models.JSONField(_("messages"))
    # {"all_friends": bool, "include": [{"segment": id} | {"audience": id} | {"definition": {}}
    #  | {"contacts": [ids]}], "exclude": [...]}; evaluated when the send starts.
    target = models.JSONField(_("target"), default=dict)
    track_links = models.BooleanField(_("track link clicks per recipient"), default=True)
    notification_disabled = models.BooleanField(_("send without notification"), default=False)
    status = models.CharField(
        max_length=10, choices=CampaignStatus, default=CampaignStatus.DRAFT, db_index=True
    )
    status_reason = models.TextField(blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class DeliveryKind(models.TextChoices):
    LIVE = "live", _("Live")
    TEST = "test", _("Test")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    READY = "ready", _("Recipients frozen")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    PARTIAL = "partial", _("Partly failed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_DELIVERY_STATUSES = (DeliveryStatus.QUEUED, DeliveryStatus.READY, DeliveryStatus.SENDING)
# Every batch has its final outcome (some may have failed).
FINISHED_DELIVERY_STATUSES = (DeliveryStatus.DONE, DeliveryStatus.PARTIAL, DeliveryStatus.FAILED)


class Delivery(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=4, choices=DeliveryKind, default=DeliveryKind.LIVE)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus, default=DeliveryStatus.QUEUED, db_index=True
    )
    reason = models.TextField(blank=True)
    # Test sends name their recipients; live sends use the campaign's target.
    test_contact_ids = models.JSONField(default=list, blank=True)
    run_after = models.DateTimeField(null=True, blank=True)
    method = models.CharField(max_length=20, blank=True)
    total = models.PositiveIntegerField(default=0)
    eligible = models.PositiveIntegerField(default=0)
    excluded = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    # Frozen and sent to, but they blocked the account before LINE took the request (LINE
    # accepts a blocked friend's ID silently and delivers nothing): not counted as reached.
    blocked = models.PositiveIntegerField(default=0)
    # What LINE said before the send and what it would cost (see services.check_quota).
    quota = models.JSONField(default=dict, blank=True)
    quota_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    frozen_at = models.DateTimeField(null=True, blank=True)
    # Chunked planning (personalised sends): recipients are rendered and batched a chunk at a
    # time, by recipient id, while earlier chunks are sent. `plan_cursor` is the last recipient
    # id planned, `plan_end` the last one to plan; `plan_total` recipients were pending at the
    # freeze and `planned` of them have been planned. `planned_at` is set when all are.
    plan_cursor = models.BigIntegerField(default=0)
    plan_end = models.BigIntegerField(default=0)
    plan_total = models.PositiveIntegerField(default=0)
    planned = models.PositiveIntegerField(default=0)
    planned_at = models.DateTimeField(null=True, blank=True)
    # URL → tracked link id, created once at the freeze so every chunk (and every resumed
    # planner) rewrites a URL to the same link.
    plan_links = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A campaign goes out once: a second "send" can never create a second live delivery.
            models.UniqueConstraint(
                fields=["campaign"],
                condition=models.Q(kind="live"),
                name="one_live_delivery_per_campaign",
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of campaign {self.campaign_id} ({self.status})"

    @property
    def progress(self) -> float:
        """0–100: recipients with a final outcome among those to be sent to."""
        finished = self.status in FINISHED_DELIVERY_STATUSES
        if finished or not self.eligible:
            return 100.0 if finished else 0.0
        done = self.sent + self.failed + self.unknown + self.blocked
        return round(100.0 * done / self.eligible, 1)

    @property
    def planning(self) -> float | None:
        """0–100 while recipients are still being rendered and batched; None once they all
        are (or before the freeze)."""
        if self.planned_at is not None or self.frozen_at is None:
            return None
        if not self.plan_total:
            return 0.0
        return min(round(100.0 * self.planned / self.plan_total, 1), 99.9)


class Payload(models.Model):
    """The message objects of one or more batches (identical content is stored once)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="payloads")
    digest = models.CharField(max_length=64)
    messages = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "digest"], name="one_payload_per_digest")
        ]

    def __str__(self) -> str:
        return f"payload {self.digest[:8]} of delivery {self.delivery_id}"


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    IN_FLIGHT = "in_flight", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Possibly delivered, but LINE's 24-hour retry-key window has passed: never resent.
    UNKNOWN = "unknown", _("Unknown")
    CANCELLED = "cancelled", _("Cancelled")


class Endpoint(models.TextChoices):
    MULTICAST = "multicast", "multicast"
    PUSH = "push", "push"
    BROADCAST = "broadcast", "broadcast"


class Batch(models.Model):
    """One LINE request. `retry_key` exists from creation and is sent with every attempt."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField()
    endpoint = models.CharField(max_length=10, choices=Endpoint)
    payload = models.ForeignKey(Payload, on_delete=models.CASCADE, related_name="batches")
    recipient_count = models.PositiveIntegerField()
    retry_key = models.UUIDField(default=uuid.uuid4, unique=True)
    status = models.CharField(max_length=10, choices=BatchStatus, default=BatchStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    # The earliest attempt whose outcome we never learnt (no answer: crash, timeout, dropped
    # connection). LINE may have accepted it, so after 24 h a resend could duplicate.
    uncertain_since = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    accepted_request_id = models.CharField(max_length=64, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    error_details = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="batch_number_once")
        ]
        indexes = [models.Index(fields=["delivery", "status", "number"], name="batch_claim")]

    def __str__(self) -> str:
        return f"batch {self.number} of delivery {self.delivery_id} ({self.status})"


class RecipientStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    EXCLUDED = "excluded", _("Excluded")
    UNKNOWN = "unknown", _("Unknown")
    CANCELLED = "cancelled", _("Not sent (cancelled)")
    # Sent, but the friend had blocked the account by the time LINE took the request.
    BLOCKED = "blocked", _("Blocked during the send")


class ExclusionReason(models.TextChoices):
    EXCLUDED = "excluded_by_target", _("Excluded by segment or audience")
    NO_LINE_IDENTITY = "no_line_identity", _("No LINE identity")
    BLOCKED = "blocked", _("Blocked the account")
    NOT_FRIEND = "not_friend", _("Not a friend")
    NO_CONSENT = "no_consent", _("No marketing consent")
    # Re-checked when their batch was claimed, after the recipients were frozen.
    LEFT_BEFORE_BATCH = "left_before_batch", _("Blocked or left before their batch was sent")
    CONSENT_WITHDRAWN = (
        "consent_withdrawn",
        _("Withdrew marketing consent before their batch was sent"),
    )
    UNLINKED = "unlinked_before_batch", _("Unlinked or deleted before their batch was sent")
    # The reason of a `blocked` recipient (see campaigns.reconcile).
    BLOCKED_DURING_SEND = (
        "blocked_during_send",
        _("Blocked the account before LINE took their batch"),
    )
    # Left out when someone confirmed sending only up to the month's limit (plan or LINE).
    OVER_LIMIT = "over_month_limit", _("Not sent: over this month's message limit")


class DeliveryRecipient(models.Model):
    """One frozen recipient and its outcome. Inserted set-based when the send starts."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    line_user_id = models.CharField(max_length=33, blank=True)
    status = models.CharField(max_length=10, choices=RecipientStatus)
    reason = models.CharField(max_length=200, blank=True)
    batch_no = models.PositiveIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["delivery", "contact"], name="recipient_once")
        ]
        indexes = [
            models.Index(fields=["delivery", "batch_no"], name="recipient_batch"),
            models.Index(fields=["delivery", "status"], name="recipient_status"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in delivery {self.delivery_id}: {self.status}"


class TestRecipient(models.Model):
    """A contact who receives this workspace's test sends by default: staff's own LINE
    accounts, chosen once in the campaign page's test-send card instead of at every test."""

    __test__ = False  # not a pytest test class, whatever its name

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="test_recipients"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("test recipient")
        verbose_name_plural = _("test recipients")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact"], name="test_recipient_once_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return f"test recipient {self.contact_id} of workspace {self.workspace_id}"


class RateBucket(models.Model):
    """A token bucket shared by every worker: one row per channel and LINE endpoint."""

    key = models.CharField(max_length=100, unique=True)
    tokens = models.FloatField()
    # Seconds since the epoch of the last refill.
    updated = models.FloatField()

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.1f}"


def as_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery": delivery.pk,
        "kind": delivery.kind,
        "status": delivery.status,
        "reason": delivery.reason,
        "method": delivery.method,
        "total": delivery.total,
        "eligible": delivery.eligible,
        "excluded": delivery.excluded,
        "sent": delivery.sent,
        "failed": delivery.failed,
        "unknown": delivery.unknown,
        "blocked": delivery.blocked,
        "progress": delivery.progress,
        "planning": delivery.planning,
        "quota": delivery.quota,
    }
