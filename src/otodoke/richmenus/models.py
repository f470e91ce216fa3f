"""Rich menus, the per-segment rules that pick one per contact, and what LINE was told.

A menu is edited here and *published* to LINE (LINE's rich menus cannot be changed once
created: publishing again creates a new one and moves the alias and the links over).
`RichMenuAssignment` keeps, per contact, the menu the rules want (desired) and the LINE menu
linked to that user the last time LINE accepted a bulk call (applied); `RelinkChunk` is one
bulk link/unlink call of at most 500 users, written before the call (see `sync`).
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

ALIAS_VALIDATOR = RegexValidator(
    r"^[a-z0-9_-]{1,32}$",
    _("Use 1 to 32 lower-case letters, digits, hyphens or underscores (LINE's alias rule)."),
)


class RichMenu(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=300)
    chat_bar_text = models.CharField(_("chat bar text"), max_length=14)
    width = models.PositiveIntegerField(default=2500)
    height = models.PositiveIntegerField(default=1686)
    image = models.FileField(_("image"), upload_to="richmenus/%Y/%m/", blank=True)
    image_type = models.CharField(max_length=20, blank=True)
    # [{"x","y","width","height","type","value","label","mode","target"}], see `areas`.
    areas = models.JSONField(default=list, blank=True)
    # Shown open when the chat opens (LINE's `selected`).
    selected = models.BooleanField(_("open by default"), default=False)
    alias = models.CharField(
        _("alias (for tabs)"), max_length=32, blank=True, validators=[ALIAS_VALIDATOR]
    )
    # Set when published: LINE's rich menu ID and whether LINE has the alias.
    line_rich_menu_id = models.CharField(max_length=100, blank=True)
    alias_on_line = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    # Edited after the last publish: LINE still shows the published version.
    changed_since_publish = models.BooleanField(default=False)
    is_default = models.BooleanField(_("account default"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("rich menu")
        verbose_name_plural = _("rich menus")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "alias"],
                condition=~models.Q(alias=""),
                name="richmenu_alias_per_workspace",
            ),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(is_default=True),
                name="one_default_richmenu",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def published(self) -> bool:
        return bool(self.line_rich_menu_id)


class RichMenuRule(models.Model):
    """ "Contacts matching `segment` see `menu`"; the lowest `priority` number wins."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=200)
    # Deleting the segment deletes its rules: its friends fall back to the next rule or the
    # default at the next full sync (within a minute).
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    menu = models.ForeignKey(RichMenu, on_delete=models.PROTECT, related_name="rules")
    priority = models.PositiveIntegerField(_("priority"), default=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = _("rich menu rule")
        verbose_name_plural = _("rich menu rules")

    def __str__(self) -> str:
        return self.name


class RichMenuAssignment(models.Model):
    """One contact's menu: what the rules want and what LINE has linked to the user."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="+")
    # The rule that decided (None: no rule matches, the account default shows).
    rule = models.ForeignKey(RichMenuRule, on_delete=models.SET_NULL, null=True, related_name="+")
    desired_line_id = models.CharField(max_length=100, blank=True)
    # The per-user menu LINE has for this user ("" = none: the default shows).
    applied_line_id = models.CharField(max_length=100, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "contact"], name="rmassign_ws_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.desired_line_id or '-'}"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RelinkChunk(models.Model):
    """One bulk call, recorded before it is made: link `user_ids` to `line_menu_id`, or
    unlink them (`line_menu_id` ""). A crash leaves it pending; the next sync makes exactly
    the pending calls (bulk link is idempotent at LINE), never the done ones again."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    line_menu_id = models.CharField(max_length=100, blank=True)
    contact_ids = models.JSONField()
    user_ids = models.JSONField()
    status = models.CharField(max_length=10, choices=ChunkStatus, default=ChunkStatus.PENDING)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["workspace", "status"], name="rmchunk_ws_status")]

    def __str__(self) -> str:
        return f"{self.pk} {self.status} {len(self.user_ids)}"


class SyncChain(models.Model):
    """The marker of the self-renewing sync task chain (one row), as the scenario tick's."""

    next_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"next sync {self.next_at}"
