"""Auto-replies in the chat inbox's timeline: what each rule answered this friend."""

from __future__ import annotations

from otodoke.autoreplies.models import AutoReply, ReplyStatus
from otodoke.chat.timeline import Item
from otodoke.contacts.models import Contact


def reply_items(contact: Contact, limit: int) -> list[Item]:
    rows = (
        AutoReply.objects.filter(
            workspace_id=contact.workspace_id, contact_id=contact.pk, status=ReplyStatus.REPLIED
        )
        .select_related("rule")
        .order_by("-created_at")[:limit]
    )
    return [
        Item(
            row.finished_at or row.created_at, "out", "autoreply", list(row.messages), row.rule.name
        )
        for row in rows
    ]
