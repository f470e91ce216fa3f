"""The 1:1 chat inbox: one conversation per LINE friend (contact), its messages both ways,
staff notes and the workspace's saved replies (定型文).

Friends' messages are stored once per LINE message ID (a redelivered webhook cannot add a
second copy); Otodoke's own campaign and scenario sends are not copied here but read from
their own tables when a timeline is shown (see `timeline`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


class ConversationState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class Conversation(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="conversation")
    state = models.CharField(
        _("state"), max_length=10, choices=ConversationState, default=ConversationState.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    # The friend's messages since a staff member last opened the conversation.
    unread = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_preview = models.CharField(max_length=200, blank=True)
    last_kind = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-last_message_at"], name="chat_inbox")]

    def __str__(self) -> str:
        return f"conversation {self.pk} ({self.state})"


class Direction(models.TextChoices):
    IN = "in", _("From the friend")
    OUT = "out", _("From staff")


class SendMethod(models.TextChoices):
    REPLY = "reply", _("Reply (free)")
    PUSH = "push", _("Push (counts against the monthly quota)")


class SendState(models.TextChoices):
    RECEIVED = "received", _("Received")
    PENDING = "pending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ContentState(models.TextChoices):
    NONE = "", _("No content")
    PENDING = "pending", _("Downloading")
    STORED = "stored", _("Stored")
    FAILED = "failed", _("Not available")


class ChatMessage(models.Model):
    """One LINE message in a conversation: a friend's (`in`) or a staff reply (`out`)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction)
    kind = models.CharField(max_length=20)  # text, sticker, image, file, location, …
    text = models.TextField(blank=True)
    # Friend's: the LINE message object as the webhook carried it. Staff's: what was sent.
    body = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    # --- a friend's message
    line_message_id = models.CharField(max_length=40, blank=True)
    webhook_event_id = models.CharField(max_length=64, blank=True)
    reply_token = models.CharField(max_length=100, blank=True)
    reply_until = models.DateTimeField(null=True, blank=True)
    reply_token_used = models.BooleanField(default=False)
    content_state = models.CharField(
        max_length=10, choices=ContentState, default=ContentState.NONE, blank=True
    )
    content_file = models.CharField(max_length=300, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    # --- a staff reply
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    sent_via = models.CharField(max_length=20, blank=True)  # web, api, cli
    method = models.CharField(max_length=10, choices=SendMethod, blank=True)
    state = models.CharField(max_length=10, choices=SendState, default=SendState.RECEIVED)
    # Stored before the first push attempt and reused for every retry of it.
    retry_key = models.UUIDField(null=True, blank=True, unique=True)
    request_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "line_message_id"],
                condition=~models.Q(line_message_id=""),
                name="chat_message_once",
            )
        ]
        indexes = [models.Index(fields=["conversation", "at"], name="chat_timeline")]

    def __str__(self) -> str:
        return f"{self.direction} {self.kind} {self.pk}"


class Note(models.Model):
    """An internal note on a conversation: staff only, never sent to the friend."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"note {self.pk}"


class SavedReply(models.Model):
    """A saved reply (定型文) staff pick instead of typing it again."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"), max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "title"], name="saved_reply_title")
        ]

    def __str__(self) -> str:
        return self.title


def new_retry_key() -> uuid.UUID:
    return uuid.uuid4()
