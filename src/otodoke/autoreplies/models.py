"""Auto-reply rules (welcome, keyword, postback, out-of-hours) and the record of each answer.

`AutoReply` is written, unique per (rule, webhook event), inside the transaction that processes
the event and before any reply request: a redelivered webhook, a second processing or two
workers racing find the row and never answer a second time. LINE's reply endpoint takes no
retry key, so this row is the only guard; a worker that dies after claiming it and before the
reply loses that reply, which is the side to fail on (a customer never gets a double answer).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.workspaces.models import Workspace


class RuleKind(models.TextChoices):
    WELCOME = "welcome", _("Welcome message (on follow)")
    KEYWORD = "keyword", _("Keyword")
    POSTBACK = "postback", _("Postback")
    AWAY = "away", _("Out-of-hours reply")


class MatchType(models.TextChoices):
    EXACT = "exact", _("The whole message is the keyword")
    CONTAINS = "contains", _("The message contains the keyword")


class RuleQuerySet(models.QuerySet["Rule"]):
    def enabled(self) -> RuleQuerySet:
        return self.filter(enabled=True)

    def in_order(self) -> RuleQuerySet:
        return self.order_by("priority", "pk")


class Rule(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    name = models.CharField(_("name"), max_length=200)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Lower answers first; among keyword (and postback) rules the first match wins, since one
    # event has one reply token.
    priority = models.PositiveIntegerField(_("priority"), default=0)
    match_type = models.CharField(
        _("match"), max_length=10, choices=MatchType.choices, default=MatchType.EXACT
    )
    keywords: models.JSONField[list[str]] = models.JSONField(_("keywords"), default=list)
    postback_key = models.CharField(_("postback data key"), max_length=100, blank=True)
    postback_value = models.CharField(_("postback data value"), max_length=300, blank=True)
    messages: models.JSONField[list[dict[str, Any]]] = models.JSONField(_("messages"), default=list)
    invite_unlinked = models.BooleanField(_("invite unlinked friends to link"), default=False)
    add_tag = models.CharField(_("tag to add"), max_length=100, blank=True)
    scenario = models.ForeignKey(
        "scenarios.Scenario",
        verbose_name=_("scenario to start"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Out-of-hours rules: the business hours, in the workspace's time zone. Weekdays are
    # 0 (Monday) … 6 (Sunday); closes_at before opens_at means open past midnight.
    open_days: models.JSONField[list[int]] = models.JSONField(_("open days"), default=list)
    opens_at = models.TimeField(_("opens at"), null=True, blank=True)
    closes_at = models.TimeField(_("closes at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RuleQuerySet.as_manager()

    class Meta:
        ordering = ("priority", "pk")
        indexes = [models.Index(fields=["workspace", "kind", "enabled", "priority"])]

    def __str__(self) -> str:
        return self.name


class ReplyStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    REPLIED = "replied", _("Replied")
    EXPIRED = "expired", _("Not sent: the reply token expired")
    FAILED = "failed", _("Not sent: LINE refused")


class AutoReplyQuerySet(models.QuerySet["AutoReply"]):
    def pending(self) -> AutoReplyQuerySet:
        return self.filter(status=ReplyStatus.PENDING)


class AutoReply(models.Model):
    """One rule answering one webhook event (at most once: the unique constraint)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="replies")
    webhook_event_id = models.CharField(max_length=64)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    line_user_id = models.CharField(max_length=64)
    reply_token = models.CharField(max_length=200, blank=True)
    reply_until = models.DateTimeField(null=True)
    status = models.CharField(
        max_length=10, choices=ReplyStatus.choices, default=ReplyStatus.PENDING
    )
    reason = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    # What LINE accepted (rendered for this friend, the invitation included), for the chat
    # inbox's timeline; empty until replied.
    messages = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)

    objects = AutoReplyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "webhook_event_id"], name="autoreply_once_per_rule_and_event"
            )
        ]
        indexes = [models.Index(fields=["workspace", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.rule_id}:{self.webhook_event_id} {self.status}"
