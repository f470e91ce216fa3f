"""Recording a click on a tracked link: the click row and the contact's `clicked:` tag."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from otodoke.contacts.models import Contact, TagSource
from otodoke.contacts.tagging import add_tags
from otodoke.messaging.links import parse_click_token
from otodoke.messaging.signals import link_clicked
from otodoke.tracking.models import TrackedLink
from otodoke.tracking.services import record_click


def click_tag(link: TrackedLink) -> str:
    return f"clicked:{link.token}"


@transaction.atomic
def register_click(token: str, *, user_agent: str = "") -> str | None:
    """Record the click named by a signed token; return the link's stored URL, or None for a
    token that is forged, altered or names a link or contact that no longer exists."""
    parsed = parse_click_token(token)
    if parsed is None:
        return None
    link_id, contact_id = parsed
    link = TrackedLink.objects.filter(pk=link_id).first()
    if link is None:
        return None
    contact = Contact.objects.filter(pk=contact_id, workspace_id=link.workspace_id).first()
    now = timezone.now()
    record_click(link, contact=contact, user_agent=user_agent, now=now)
    if contact is not None:
        add_tags(link.workspace, [contact.pk], [click_tag(link)], source=TagSource.AUTO, at=now)
        link_clicked.send(
            sender=TrackedLink,
            workspace=link.workspace,
            contact_id=contact.pk,
            link_id=link.pk,
            campaign_id=link.campaign_id,
            at=now,
        )
    return link.url
