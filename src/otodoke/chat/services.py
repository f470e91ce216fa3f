"""Named changes of the chat inbox: a friend's message arrives, staff open, assign, close and
annotate a conversation, and manage saved replies. Sending lives in `sending`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.chat.models import (
    ChatMessage,
    ContentState,
    Conversation,
    ConversationState,
    Direction,
    Note,
    SavedReply,
    SendState,
)
from otodoke.contacts.models import Contact
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, require

# Friends' messages whose content LINE keeps for download (api-data.line.me).
CONTENT_KINDS = ("image", "video", "audio", "file")


class ChatError(Exception):
    """A chat action that cannot be done; the message says why, in words for staff."""


@dataclass(frozen=True)
class Inbound:
    message: dict[str, Any]
    message_id: str
    kind: str
    text: str
    at: datetime
    reply_token: str = ""
    reply_until: float = 0.0
    webhook_event_id: str = ""


def conversation_for(workspace: Workspace, contact_id: int) -> Conversation:
    """The contact's conversation, created on first use (an insert race is settled by the
    one-per-contact constraint)."""
    found = Conversation.objects.filter(contact_id=contact_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Conversation.objects.create(workspace=workspace, contact_id=contact_id)
    except IntegrityError:
        return Conversation.objects.get(contact_id=contact_id)


def _preview(kind: str, text: str) -> str:
    return text[:200] if kind == "text" else ""


def _bump(conversation_id: int, at: datetime, kind: str, text: str, *, unread: bool) -> None:
    """The conversation's last message and ordering; newer only (events come in any order)."""
    with transaction.atomic():
        _bump_locked(conversation_id, at, kind, text, unread=unread)


def _bump_locked(conversation_id: int, at: datetime, kind: str, text: str, *, unread: bool) -> None:
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    fields = []
    if conversation.last_message_at is None or at >= conversation.last_message_at:
        conversation.last_message_at = at
        conversation.last_preview = _preview(kind, text)
        conversation.last_kind = kind
        fields += ["last_message_at", "last_preview", "last_kind"]
    if unread:
        conversation.unread = F("unread") + 1
        # A customer writing again reopens a conversation marked done.
        conversation.state = ConversationState.OPEN
        fields += ["unread", "state"]
    if fields:
        conversation.save(update_fields=fields)


def record_inbound(workspace: Workspace, contact_id: int, inbound: Inbound) -> ChatMessage | None:
    """Store a friend's message once (by LINE message ID); None when it was stored already.

    Runs inside the webhook event's processing transaction. Content (an image, a file) is
    downloaded by a task after that transaction commits."""
    conversation = conversation_for(workspace, contact_id)
    if (
        inbound.message_id
        and ChatMessage.objects.filter(
            workspace=workspace, line_message_id=inbound.message_id
        ).exists()
    ):
        return None
    needs_content = inbound.kind in CONTENT_KINDS and (
        (inbound.message.get("contentProvider") or {}).get("type", "line") == "line"
    )
    until = (
        datetime.fromtimestamp(inbound.reply_until, UTC)
        if inbound.reply_token and inbound.reply_until
        else None
    )
    try:
        with transaction.atomic():
            message = ChatMessage.objects.create(
                workspace=workspace,
                conversation=conversation,
                direction=Direction.IN,
                kind=inbound.kind[:20],
                text=inbound.text,
                body=inbound.message,
                at=inbound.at,
                line_message_id=inbound.message_id[:40],
                webhook_event_id=inbound.webhook_event_id[:64],
                reply_token=inbound.reply_token[:100],
                reply_until=until,
                content_state=ContentState.PENDING if needs_content else ContentState.NONE,
                state=SendState.RECEIVED,
            )
    except IntegrityError:
        return None  # a concurrent delivery of the same message stored it first
    _bump(conversation.pk, inbound.at, message.kind, message.text, unread=True)
    if needs_content:
        from otodoke.chat.tasks import fetch_message_content

        message_pk = message.pk
        transaction.on_commit(lambda: fetch_message_content.enqueue(message_pk))
    return message


def record_outbound_bump(message: ChatMessage) -> None:
    _bump(message.conversation_id, message.at, message.kind, message.text, unread=False)


def mark_read(conversation: Conversation) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(unread=0)
    conversation.unread = 0


def _check(actor: AnyUser | None, workspace: Workspace, conversation: Conversation) -> None:
    if actor is not None:
        require(actor, workspace, Permission.SEND)
    if conversation.workspace_id != workspace.pk:
        raise ChatError(_("This conversation belongs to another workspace."))


def set_state(
    workspace: Workspace, conversation: Conversation, state: str, *, actor: AnyUser | None
) -> None:
    _check(actor, workspace, conversation)
    if state not in ConversationState.values:
        raise ChatError(_("Unknown state."))
    conversation.state = state
    conversation.save(update_fields=["state"])


def assign(
    workspace: Workspace,
    conversation: Conversation,
    assignee: User | None,
    *,
    actor: AnyUser | None,
) -> None:
    from otodoke.workspaces.models import Membership

    _check(actor, workspace, conversation)
    if (
        assignee is not None
        and not Membership.objects.filter(workspace=workspace, user=assignee).exists()
    ):
        raise ChatError(_("Only a member of this workspace can be assigned."))
    conversation.assignee = assignee
    conversation.save(update_fields=["assignee"])


def add_note(
    workspace: Workspace, conversation: Conversation, text: str, *, actor: AnyUser | None
) -> Note:
    _check(actor, workspace, conversation)
    text = text.strip()
    if not text:
        raise ChatError(_("A note needs some text."))
    if len(text) > 2000:
        raise ChatError(_("A note can be at most 2,000 characters."))
    author = actor if isinstance(actor, User) else None
    return Note.objects.create(
        conversation=conversation, author=author, text=text, created_at=timezone.now()
    )


def save_reply(
    workspace: Workspace,
    title: str,
    text: str,
    *,
    actor: AnyUser | None,
    reply: SavedReply | None = None,
) -> SavedReply:
    """Create (or, with `reply`, change) a saved reply. LINE's text limit is 5,000 characters."""
    if actor is not None:
        require(actor, workspace, Permission.SEND)
    title, text = title.strip(), text.strip()
    if not title or not text:
        raise ChatError(_("A saved reply needs a title and a text."))
    if len(title) > 100:
        raise ChatError(_("The title can be at most 100 characters."))
    if len(text) > 5000:
        raise ChatError(_("LINE allows at most 5,000 characters in a text message."))
    duplicate = SavedReply.objects.filter(workspace=workspace, title=title)
    if reply is not None:
        duplicate = duplicate.exclude(pk=reply.pk)
    if duplicate.exists():
        raise ChatError(_("A saved reply with this title exists already."))
    if reply is None:
        return SavedReply.objects.create(workspace=workspace, title=title, text=text)
    reply.title, reply.text = title, text
    reply.save(update_fields=["title", "text"])
    return reply


def delete_saved_reply(workspace: Workspace, reply: SavedReply, *, actor: AnyUser | None) -> None:
    if actor is not None:
        require(actor, workspace, Permission.SEND)
    if reply.workspace_id != workspace.pk:
        raise ChatError(_("This saved reply belongs to another workspace."))
    reply.delete()


def merge_conversations(pairs: Sequence[tuple[int, int]]) -> None:
    for into_id, other_id in pairs:
        other = Conversation.objects.filter(contact_id=other_id).first()
        if other is None:
            continue
        into = Conversation.objects.filter(contact_id=into_id).first()
        if into is None:
            other.contact_id = into_id
            other.save(update_fields=["contact"])
            continue
        ChatMessage.objects.filter(conversation=other).update(conversation=into)
        Note.objects.filter(conversation=other).update(conversation=into)
        into.unread += other.unread
        if other.last_message_at and (
            into.last_message_at is None or other.last_message_at > into.last_message_at
        ):
            into.last_message_at = other.last_message_at
            into.last_preview, into.last_kind = other.last_preview, other.last_kind
        into.save(update_fields=["unread", "last_message_at", "last_preview", "last_kind"])
        other.delete()


def contact_of(conversation: Conversation) -> Contact:
    return conversation.contact
