"""Tracked links and the clicks on them. The redirector (campaigns work) builds on these rows;
segments read them for the "clicked" condition."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace


def new_link_token() -> str:
    # 12 URL-safe bytes: short enough for a LINE text message, unguessable enough that nobody
    # enumerates another campaign's links.
    return secrets.token_urlsafe(12)


class TrackedLink(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="links")
    # A plain integer, not a foreign key: campaigns arrive later and must not be a dependency
    # of this app's first migration.
    campaign_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    url = models.URLField(_("destination URL"), max_length=2000)
    token = models.CharField(max_length=32, unique=True, default=new_link_token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tracked link")
        verbose_name_plural = _("tracked links")

    def __str__(self) -> str:
        return f"{self.token} → {self.url}"


class Click(models.Model):
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    # NULL when the click cannot be tied to a contact (a forwarded link, a crawler).
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="clicks"
    )
    clicked_at = models.DateTimeField()
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            # "clicked link X" segment condition: EXISTS (… contact = outer AND link = X).
            models.Index(fields=["contact", "link", "clicked_at"], name="click_contact_link"),
            models.Index(fields=["link", "clicked_at"], name="click_link_time"),
        ]

    def __str__(self) -> str:
        return f"{self.link_id} @ {self.clicked_at:%Y-%m-%d %H:%M}"
