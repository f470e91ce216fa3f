"""LINE friends' actions, for apps above this one (scenarios) to act on without this app
importing them. Sent inside the webhook event's processing transaction; each signal gets
`workspace`, `contact_id`, `at` (the event's time) and `event` (the stored WebhookEvent, for
its ID and reply token) plus what is listed."""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from otodoke.contacts.models import Contact
from otodoke.line.models import WebhookEvent

friend_followed = Signal()  # + refollow (an unblock)
# Sent once, by record_unfollow, inside the transaction that records the block:
# contact=Contact, contact_id, workspace and at (the event's time).
friend_unfollowed = Signal()
# + text ("" for stickers, images, files, locations), message (LINE's message object as sent),
# message_id, message_type, reply_token ("" when none), reply_until (epoch seconds until which
# the token may be used; see services.reply_window) and webhook_event_id.
message_received = Signal()
postback_received = Signal()  # + data


def announce(signal: Signal, event: WebhookEvent, contact_id: int | None, **extra: Any) -> None:
    """Send `signal` for the event's contact (looked up by its LINE user when not given)."""
    if contact_id is None and event.source_user_id:
        contact_id = (
            Contact.objects.filter(workspace=event.workspace, line_user_id=event.source_user_id)
            .values_list("pk", flat=True)
            .first()
        )
    if contact_id is None:
        return
    signal.send(
        sender=WebhookEvent,
        workspace=event.workspace,
        contact_id=contact_id,
        at=event.timestamp,
        event=event,
        **extra,
    )
