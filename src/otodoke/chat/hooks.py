"""Wiring to the apps below: the line app's `message_received` signal and contact merges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from otodoke.contacts.merging import MERGE_HANDLERS
from otodoke.line import signals as line_signals

UID = "otodoke.chat"


def _message(
    workspace: Any,
    contact_id: int,
    at: Any,
    message: dict[str, Any] | None = None,
    message_id: str = "",
    message_type: str = "",
    text: str = "",
    reply_token: str = "",
    reply_until: float = 0.0,
    webhook_event_id: str = "",
    **_: Any,
) -> None:
    from otodoke.chat.services import Inbound, record_inbound

    record_inbound(
        workspace,
        contact_id,
        Inbound(
            message=message or {"type": message_type or "text", "text": text},
            message_id=message_id,
            kind=message_type or "text",
            text=text,
            at=at,
            reply_token=reply_token,
            reply_until=reply_until,
            webhook_event_id=webhook_event_id,
        ),
    )


def move_conversations(pairs: Sequence[tuple[int, int]]) -> None:
    """A merge (`other` into `into`): `other`'s conversation becomes `into`'s, or its messages
    and notes join `into`'s when both have one (a contact has one conversation)."""
    from otodoke.chat.services import merge_conversations

    merge_conversations(pairs)


def connect() -> None:
    line_signals.message_received.connect(_message, dispatch_uid=f"{UID}.message")
    if move_conversations not in MERGE_HANDLERS:
        MERGE_HANDLERS.append(move_conversations)
