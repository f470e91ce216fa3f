"""Saved segments (dynamic condition trees) and audiences (frozen lists of contacts)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


class Segment(models.Model):
    """A condition tree evaluated when it is used (count, preview, send): never a snapshot.

    `definition` is only ever written by `services.save_segment`, which validates it against
    the schema version in `schema_version` first (see docs/segments.md)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    definition = models.JSONField(_("definition"))
    schema_version = models.PositiveSmallIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="segment_name_per_workspace")
        ]

    def __str__(self) -> str:
        return self.name


class AudienceSource(models.TextChoices):
    FILE = "file", _("Uploaded user-ID file")
    SEGMENT = "segment", _("Segment snapshot")
    MANUAL = "manual", _("Manual pick")


class Audience(models.Model):
    """A frozen list of contacts. Members never change after creation, so a campaign that
    targets an audience sends to exactly the people who were in it."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audiences")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    source = models.CharField(max_length=10, choices=AudienceSource)
    # Where it came from (segment ID and definition, file name and line counts): no PII.
    source_details = models.JSONField(default=dict, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            # Also the index behind "in audience X": (audience_id, contact_id) lookups.
            models.UniqueConstraint(fields=["audience", "contact"], name="one_audience_member")
        ]

    def __str__(self) -> str:
        return f"{self.audience_id}:{self.contact_id}"


class SegmentWatch(models.Model):
    """Who currently matches a definition, kept for one owner so "entered" and "left" are a diff.

    The owner is another domain's row, named by kind and id ("scenario_version", 12 or
    "richmenu_rule", 3), so segments import nothing from its owners. `services` never read
    this: only `watches.refresh` / `watches.refresh_contacts` write members."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    owner_kind = models.CharField(max_length=40)
    owner_id = models.PositiveBigIntegerField()
    definition = models.JSONField()
    # First evaluation records the current members without reporting them as entered.
    baseline = models.BooleanField(default=True)
    # The last full evaluation (None: never evaluated, so the first one is the baseline).
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_kind", "owner_id"], name="one_watch_per_owner")
        ]
        indexes = [models.Index(fields=["workspace", "owner_kind"], name="segwatch_ws_kind")]

    def __str__(self) -> str:
        return self.owner

    @property
    def owner(self) -> str:
        return f"{self.owner_kind}:{self.owner_id}"


class SegmentWatchMember(models.Model):
    watch = models.ForeignKey(SegmentWatch, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()

    class Meta:
        constraints = [
            # Also the index of the diff's anti-joins: (watch_id, contact_id) probes.
            models.UniqueConstraint(fields=["watch", "contact"], name="one_watch_member")
        ]

    def __str__(self) -> str:
        return f"{self.watch_id}:{self.contact_id}"
