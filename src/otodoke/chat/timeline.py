"""One timeline per conversation: the friend's messages and staff replies (stored here) and
whatever other apps sent the friend (campaigns, scenarios, later auto-replies), read from
their own tables through a small registry.

Another app adds its outbound messages with `register("autoreplies", source)`, where
`source(contact, limit)` returns `Item`s; the chat app imports none of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from otodoke.chat.models import ChatMessage, Conversation, Direction
from otodoke.contacts.models import Contact


@dataclass
class Item:
    at: datetime
    direction: str  # "in" (the friend) or "out" (Otodoke)
    source: str  # friend, staff, campaign, scenario, …
    messages: list[dict[str, Any]]
    label: str = ""  # e.g. the campaign's name
    chat: ChatMessage | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Source = Callable[[Contact, int], list[Item]]
SOURCES: dict[str, Source] = {}


def register(name: str, source: Source) -> None:
    """Add (or replace) a source of outbound messages shown in every timeline."""
    SOURCES[name] = source


def _chat_items(conversation: Conversation, limit: int) -> list[Item]:
    rows = list(
        ChatMessage.objects.filter(conversation=conversation)
        .select_related("sent_by")
        .order_by("-at", "-pk")[:limit]
    )
    items = []
    for row in rows:
        if row.direction == Direction.IN:
            items.append(Item(row.at, "in", "friend", [row.body], chat=row))
        else:
            label = row.sent_by.get_username() if row.sent_by else (row.sent_via or "")
            items.append(Item(row.at, "out", "staff", row.body.get("messages", []), label, row))
    return items


def _who(contact: Contact) -> Q:
    q = Q(contact_id=contact.pk)
    if contact.line_user_id:
        q |= Q(line_user_id=contact.line_user_id)
    return q


def campaign_items(contact: Contact, limit: int) -> list[Item]:
    from otodoke.campaigns.models import Batch, DeliveryKind, DeliveryRecipient, RecipientStatus

    rows = list(
        DeliveryRecipient.objects.filter(
            _who(contact),
            delivery__campaign__workspace_id=contact.workspace_id,
            delivery__kind=DeliveryKind.LIVE,
            status=RecipientStatus.SENT,
        )
        .select_related("delivery__campaign")
        .order_by("-sent_at")[:limit]
    )
    items = []
    for row in rows:
        campaign = row.delivery.campaign
        messages = campaign.messages
        if row.batch_no is not None:
            batch = (
                Batch.objects.filter(delivery_id=row.delivery_id, number=row.batch_no)
                .select_related("payload")
                .first()
            )
            if batch is not None:
                messages = batch.payload.messages
        at = row.sent_at or row.delivery.finished_at or row.delivery.created_at
        items.append(Item(at, "out", "campaign", list(messages), campaign.name))
    return items


def scenario_items(contact: Contact, limit: int) -> list[Item]:
    from otodoke.scenarios.models import SendStatus, StepSend

    rows = list(
        StepSend.objects.filter(
            _who(contact), scenario__workspace_id=contact.workspace_id, status=SendStatus.SENT
        )
        .select_related("scenario", "batch")
        .order_by("-sent_at")[:limit]
    )
    return [
        Item(
            row.sent_at or row.created_at,
            "out",
            "scenario",
            list(row.batch.messages) if row.batch is not None else [],
            row.scenario.name,
        )
        for row in rows
    ]


register("campaigns", campaign_items)
register("scenarios", scenario_items)


def timeline(conversation: Conversation, *, limit: int = 100) -> list[Item]:
    """The newest `limit` items, oldest first."""
    items = _chat_items(conversation, limit)
    for source in SOURCES.values():
        items.extend(source(conversation.contact, limit))
    items.sort(key=lambda i: i.at)
    return items[-limit:]


def summary(message: dict[str, Any]) -> str:
    """A one-line description of a LINE message object, for previews and the CLI."""
    kind = message.get("type")
    if kind in ("text", "textV2"):
        return str(message.get("text", ""))
    if kind == "sticker":
        return _("[Sticker]")
    if kind == "image":
        return _("[Image]")
    if kind == "video":
        return _("[Video]")
    if kind == "audio":
        return _("[Audio]")
    if kind == "file":
        return _("[File] %(name)s") % {"name": message.get("fileName", "")}
    if kind == "location":
        return _("[Location] %(title)s %(address)s") % {
            "title": message.get("title", ""),
            "address": message.get("address", ""),
        }
    if "altText" in message:
        return str(message["altText"])
    return f"[{kind}]"
