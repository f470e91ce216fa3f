"""Named actions on tracked links and clicks."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from otodoke.contacts.models import Contact
from otodoke.tracking.models import Click, TrackedLink
from otodoke.workspaces.models import Workspace


def create_tracked_link(
    workspace: Workspace, url: str, *, campaign_id: int | None = None
) -> TrackedLink:
    link = TrackedLink(workspace=workspace, url=url, campaign_id=campaign_id)
    link.full_clean()
    link.save()
    return link


def record_click(
    link: TrackedLink,
    *,
    contact: Contact | None = None,
    user_agent: str = "",
    now: datetime | None = None,
) -> Click:
    """Store one click. A contact from another workspace is dropped (recorded anonymously)
    rather than trusted: the contact comes from a URL parameter a user can edit."""
    if contact is not None and contact.workspace_id != link.workspace_id:
        contact = None
    return Click.objects.create(
        link=link,
        contact=contact,
        clicked_at=now or timezone.now(),
        user_agent=user_agent[:500],
    )
