"""A contact deleted on request: what we stored about their LINE account goes too (raw
webhook events, link tokens, verification attempts and profile retries name their LINE user
ID)."""

from __future__ import annotations

from typing import Any

from otodoke.contacts.models import Contact
from otodoke.line.models import (
    IssuedLinkToken,
    LinkVerificationAttempt,
    MissingProfile,
    WebhookEvent,
)


def on_contact_erasing(sender: Any, *, contact: Contact, **kwargs: Any) -> dict[str, int]:
    user_id = contact.line_user_id
    if not user_id:
        return {}
    mine = {"workspace_id": contact.workspace_id}
    events, _ = WebhookEvent.objects.filter(**mine, source_user_id=user_id).delete()
    IssuedLinkToken.objects.filter(**mine, line_user_id=user_id).delete()
    LinkVerificationAttempt.objects.filter(**mine, line_user_id=user_id).delete()
    MissingProfile.objects.filter(**mine, line_user_id=user_id).delete()
    return {"webhook_events": events}
