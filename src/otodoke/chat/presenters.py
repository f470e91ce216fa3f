"""What the inbox pages show: timeline rows ready for templates (PII masked for members
without the permission) and the customer sidebar (the salon case's business data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from otodoke.chat.models import Conversation
from otodoke.chat.timeline import Item, summary, timeline
from otodoke.contacts.models import Contact, Event, EventKind
from otodoke.web.access import WorkspaceAccess
from otodoke.web.pii import mask_email, mask_line_user_id, mask_phone, mask_text
from otodoke.workspaces.roles import Permission


@dataclass
class Row:
    item: Item
    kind: str
    text: str
    message: dict[str, Any]
    source_label: str


def source_label(source: str) -> str:
    labels = {
        "staff": _("Staff reply"),
        "campaign": _("Campaign"),
        "scenario": _("Scenario"),
        "autoreply": _("Auto-reply"),
    }
    return labels.get(source, source)


def rows(access: WorkspaceAccess, conversation: Conversation, *, limit: int = 100) -> list[Row]:
    pii = access.can(Permission.VIEW_PII)
    found = []
    for item in timeline(conversation, limit=limit):
        for message in item.messages or [{}]:
            text = summary(message)
            if not pii and item.direction == "in":
                text = mask_text(text)
            found.append(
                Row(item, str(message.get("type", "")), text, message, source_label(item.source))
            )
    return found


def preview(access: WorkspaceAccess, conversation: Conversation) -> str:
    """The last message in a few words (masked for members without the PII permission)."""
    if conversation.last_kind != "text":
        return summary({"type": conversation.last_kind}) if conversation.last_kind else ""
    text = conversation.last_preview
    return text if access.can(Permission.VIEW_PII) else mask_text(text)


def display_name(contact: Contact) -> str:
    return contact.name or contact.line_display_name or _("LINE friend %(id)s") % {"id": contact.pk}


def _kind_label(kind: str) -> str:
    if kind in EventKind.values:
        return str(EventKind(kind).label)
    return kind.removeprefix("custom:")


def sidebar(access: WorkspaceAccess, contact: Contact) -> dict[str, Any]:
    from otodoke.scenarios.models import Enrolment

    pii = access.can(Permission.VIEW_PII)
    return {
        "contact": contact,
        "name": display_name(contact),
        "line_user_id": contact.line_user_id if pii else mask_line_user_id(contact.line_user_id),
        "phone": contact.phone if pii else mask_phone(contact.phone),
        "email": contact.email if pii else mask_email(contact.email),
        "tags": list(contact.contact_tags.select_related("tag").order_by("tag__name")[:30]),
        "enrolments": list(
            Enrolment.objects.filter(contact_id=contact.pk)
            .select_related("scenario")
            .order_by("-entered_at")[:10]
        ),
        "events": [
            (event, _kind_label(event.kind))
            for event in Event.objects.filter(contact=contact).order_by("-occurred_at")[:5]
        ],
    }
