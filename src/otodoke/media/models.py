"""Images Otodoke hosts for LINE messages: one row per workspace and content hash.

The files live in the `otodoke_images` storage (see `otodoke.media.storage`) under the hash,
so a URL never changes meaning: the same name is always the same bytes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.workspaces.models import Workspace


class ImageFormat(models.TextChoices):
    JPEG = "jpeg", "JPEG"
    PNG = "png", "PNG"


class HostedImage(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="images")
    # SHA-256 (hex, first 40) of the uploaded bytes: the stable, content-addressed name.
    key = models.CharField(max_length=40, db_index=True)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    format = models.CharField(max_length=4, choices=ImageFormat)
    # Of the stored original (after conversion and any downsizing).
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_bytes = models.PositiveIntegerField()
    preview_bytes = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="image_unique_per_workspace")
        ]

    def __str__(self) -> str:
        return self.original_name or self.key

    @property
    def extension(self) -> str:
        return "png" if self.format == ImageFormat.PNG else "jpg"

    @property
    def content_type(self) -> str:
        return "image/png" if self.format == ImageFormat.PNG else "image/jpeg"

    def base_height(self) -> int:
        """The imagemap's baseSize.height for LINE's base width of 1040."""
        return max(1, round(self.height * 1040 / self.width))
