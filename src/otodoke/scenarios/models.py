"""Scenarios: a trigger, entry rules, steps and a goal, versioned; one enrolment per contact
per run; a send ledger that makes each (enrolment, step) go out at most once.

The ledger mirrors the campaign engine's: a `StepSend` row per (enrolment, step index) is
unique, and the LINE request that carries it (`SendBatch`, one multicast of up to 500 or one
push) gets its `X-Line-Retry-Key` when the row is created, before the first attempt; every
retry reuses it, so a crash between recording and sending can never send twice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


class ScenarioStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class Scenario(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="scenarios")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        max_length=10, choices=ScenarioStatus, default=ScenarioStatus.DRAFT, db_index=True
    )
    # Why sending is held (e.g. the monthly quota is exhausted); "" when all is well.
    status_reason = models.TextField(blank=True)
    # The version new enrolments join. A draft's edits change it in place; an edit of a
    # scenario that has been active publishes a new version (see services.update_scenario).
    current_version = models.ForeignKey(
        "ScenarioVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    template = models.CharField(max_length=50, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")

    def __str__(self) -> str:
        return self.name


class EntryRule(models.TextChoices):
    ONCE = "once", _("Once ever")
    AFTER_DAYS = "after_days", _("Again after N days")
    EVERY = "every", _("Every time")


class ScenarioVersion(models.Model):
    """One published definition. Contacts stay on the version they entered with."""

    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField(null=True, blank=True)
    # {"kind": "friend_added" | "event" | ..., "params": {...}} (schema.Trigger)
    trigger = models.JSONField()
    # A segment definition the contact must match on entry, or null.
    conditions = models.JSONField(null=True, blank=True)
    entry_rule = models.CharField(max_length=10, choices=EntryRule, default=EntryRule.ONCE)
    reentry_days = models.PositiveIntegerField(null=True, blank=True)
    # {"event": "purchase", "where": [...]} (an event since entry) and/or
    # {"definition": <segment definition>}; null for none.
    goal = models.JSONField(null=True, blank=True)
    # A list of steps (schema.Step), executed in order; branches jump forward only.
    steps = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scenario", "number"]
        constraints = [
            models.UniqueConstraint(fields=["scenario", "number"], name="scenario_version_once")
        ]
        indexes = [
            # Trigger lookup: the active versions of a workspace with a trigger kind.
            models.Index(fields=["scenario", "published_at"], name="scenario_version_pub"),
        ]

    def __str__(self) -> str:
        return f"{self.scenario_id} v{self.number}"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("In progress")
    COMPLETED = "completed", _("Completed")
    CONVERTED = "converted", _("Converted")
    EXITED = "exited", _("Exited")


class ExitReason(models.TextChoices):
    EXIT_STEP = "exit_step", _("Reached an exit step")
    BLOCKED = "blocked", _("Blocked the account")
    NO_CONSENT = "no_consent", _("Withdrew marketing consent")
    DELETED = "deleted", _("Contact deleted")
    ARCHIVED = "archived", _("Scenario archived")
    SEND_FAILED = "send_failed", _("The message could not be sent")


class Enrolment(models.Model):
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="enrolments")
    version = models.ForeignKey(
        ScenarioVersion, on_delete=models.CASCADE, related_name="enrolments"
    )
    # No database constraint: a deleted contact's enrolments stay as history and are exited by
    # the scheduler (reason "deleted"); merges move them (hooks.move_enrolments).
    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    run = models.PositiveIntegerField(default=1)
    status = models.CharField(
        max_length=10, choices=EnrolmentStatus, default=EnrolmentStatus.ACTIVE
    )
    step_index = models.PositiveIntegerField(default=0)
    next_due_at = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=20, blank=True)
    source = models.CharField(max_length=40, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scenario", "contact"],
                condition=models.Q(status="active"),
                name="one_active_enrolment",
            ),
            models.UniqueConstraint(
                fields=["scenario", "contact", "run"], name="enrolment_run_once"
            ),
        ]
        indexes = [
            # The scheduler: active enrolments due now.
            models.Index(fields=["status", "next_due_at"], name="enrolment_due"),
            models.Index(fields=["contact", "status"], name="enrolment_contact"),
            models.Index(fields=["scenario", "status"], name="enrolment_scenario"),
        ]

    def __str__(self) -> str:
        return f"contact {self.contact_id} in scenario {self.scenario_id} ({self.status})"


class SendStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    IN_FLIGHT = "in_flight", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Possibly delivered, but LINE's 24-hour retry-key window has passed: never resent.
    UNKNOWN = "unknown", _("Unknown")


class SendBatch(models.Model):
    """One LINE request (push or multicast). `retry_key` exists from creation and is sent with
    every attempt; recipients are its `StepSend` rows, in id order."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    endpoint = models.CharField(max_length=10)
    messages = models.JSONField()
    notification_disabled = models.BooleanField(default=False)
    recipient_count = models.PositiveIntegerField()
    retry_key = models.UUIDField(default=uuid.uuid4, unique=True)
    status = models.CharField(max_length=10, choices=SendStatus, default=SendStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    uncertain_since = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sendbatch_claim")]

    def __str__(self) -> str:
        return f"scenario batch {self.pk} ({self.status})"


class StepSend(models.Model):
    """The ledger: at most one row, so at most one message, per (enrolment, step)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="sends")
    step_index = models.PositiveIntegerField()
    scenario = models.ForeignKey(Scenario, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="+")
    contact_id = models.BigIntegerField()
    line_user_id = models.CharField(max_length=33)
    batch = models.ForeignKey(
        SendBatch, on_delete=models.CASCADE, null=True, blank=True, related_name="sends"
    )
    status = models.CharField(max_length=10, choices=SendStatus, default=SendStatus.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "step_index"], name="step_send_once")
        ]
        indexes = [models.Index(fields=["version", "step_index", "status"], name="stepsend_stats")]

    def __str__(self) -> str:
        return f"step {self.step_index} of enrolment {self.enrolment_id} ({self.status})"


class StepLink(models.Model):
    """The tracked link of one URL in one version's send step, created once."""

    version = models.ForeignKey(ScenarioVersion, on_delete=models.CASCADE, related_name="+")
    step_index = models.PositiveIntegerField()
    url = models.CharField(max_length=2000)
    link_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "step_index", "url"], name="step_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.url} in step {self.step_index} of {self.version_id}"


class AutomationSettings(models.Model):
    """Per-workspace automation settings: quiet hours (in the workspace time zone). A send
    that falls inside them waits for their end."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="automation_settings"
    )
    quiet_hours_enabled = models.BooleanField(_("quiet hours"), default=True)
    quiet_start = models.TimeField(_("quiet hours start"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=dt.time(9, 0))

    def __str__(self) -> str:
        return f"automation settings of {self.workspace_id}"


class TickChain(models.Model):
    """The scheduler chain's marker (one row): when its next tick is due (see tasks.py)."""

    next_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"next scenario tick at {self.next_at}"
