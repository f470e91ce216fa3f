"""Customer-initiated unlink: the friend asks in LINE, opens our page, confirms.

LINE requires that users can always unlink and has no unlink API: the provider unlinks on its
side. A linked friend who sends 「連携解除」 (or the workspace's link keyword, being linked
already) gets a reply with a button to our unlink page. The URL carries a signed, expiring
token naming the workspace, the LINE user and the customer record it was issued for: it cannot
be made up, it opens nothing for anyone else, and it is dead once that link is gone (or after
`TOKEN_MAX_AGE`). The page asks for a confirmation by POST, which carries the same token and
Django's CSRF token, so neither a forged link nor another site's form can unlink anybody.
"""

from __future__ import annotations

import time
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from otodoke.contacts.models import Contact
from otodoke.contacts.privacy import Unlinked, is_linked, unlink_contact
from otodoke.line.client import LineClient, LineRetryKeyAcceptedError, with_backoff
from otodoke.line.models import WebhookEvent
from otodoke.workspaces.models import Workspace

SALT = "otodoke.line.unlink"
TOKEN_MAX_AGE = timedelta(minutes=30)
# What a friend may type to ask (compared after NFKC and case folding).
UNLINK_KEYWORDS = frozenset({"連携解除", "unlink"})


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def is_unlink_keyword(text: str) -> bool:
    return _normalised(text) in UNLINK_KEYWORDS


def make_token(contact: Contact) -> str:
    return signing.dumps(
        {"w": contact.workspace_id, "u": contact.line_user_id, "c": contact.pk}, salt=SALT
    )


def unlink_url(contact: Contact, workspace: Workspace) -> str:
    path = reverse("line:unlink", kwargs={"slug": workspace.slug})
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode({'t': make_token(contact)})}"


def contact_for_token(workspace: Workspace, token: str) -> Contact | None:
    """The linked customer the token was issued for, or None when the token is forged,
    expired, for another workspace, or that link no longer exists."""
    try:
        data = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("w") != workspace.pk:
        return None
    contact_id, user_id = data.get("c"), data.get("u")
    if not isinstance(contact_id, int) or not isinstance(user_id, str):
        return None
    contact = Contact.objects.filter(
        workspace=workspace, pk=contact_id, line_user_id=user_id
    ).first()
    return contact if contact is not None and is_linked(contact) else None


def unlink_by_customer(workspace: Workspace, token: str) -> Unlinked | None:
    contact = contact_for_token(workspace, token)
    if contact is None:
        return None
    return unlink_contact(workspace, contact, label="customer (LINE)", by_customer=True)


def unlink_message(url: str, language: str) -> dict[str, Any]:
    """A buttons template (text ≤ 160, label ≤ 20 characters at LINE) opening `url`."""
    with translation.override(language):
        return {
            "type": "template",
            "altText": _("Unlink your membership from LINE: %(url)s") % {"url": url},
            "template": {
                "type": "buttons",
                "text": _(
                    "Your membership is linked to this LINE account. You can unlink it here; "
                    "offers made for you will stop."
                ),
                "actions": [{"type": "uri", "label": _("Unlink"), "uri": url}],
            },
        }


@dataclass(frozen=True)
class UnlinkOffered:
    contact_id: int
    method: str


def offer_unlink(
    workspace: Workspace, contact: Contact, *, reply_token: str = "", reply_until: float = 0.0
) -> UnlinkOffered:
    """Send a linked friend the button to the unlink page: a reply while the event's token is
    good (free), else a push under one retry key."""
    from otodoke.line.invites import _friend_language, reply_or_none

    user_id = str(contact.line_user_id)
    message = unlink_message(unlink_url(contact, workspace), _friend_language(contact))
    retry_key = str(uuid.uuid4())
    with LineClient.for_workspace(workspace) as client:
        replied = (
            reply_or_none(client, reply_token, [message])
            if reply_token and time.time() < reply_until
            else None
        )
        if replied is not None:
            return UnlinkOffered(contact.pk, "reply")

        def push() -> str:
            try:
                return client.push(user_id, [message], retry_key=retry_key)
            except LineRetryKeyAcceptedError as exc:
                return exc.accepted_request_id or ""

        with_backoff(push, attempts=3)
    return UnlinkOffered(contact.pk, "push")


def unlink_on_request(
    workspace: Workspace, line_user_id: str, *, reply_token: str = "", reply_until: float = 0.0
) -> str:
    """The friend asked to unlink: offer the page if they are linked. Returns what happened."""
    contact = Contact.objects.filter(workspace=workspace, line_user_id=line_user_id).first()
    if contact is None or not is_linked(contact):
        return "not linked"
    offered = offer_unlink(workspace, contact, reply_token=reply_token, reply_until=reply_until)
    return f"unlink offered by {offered.method}"


def request_unlink_page(event: WebhookEvent, user_id: str) -> str:
    """From the message event's processing: enqueue the offer once the event commits (a reply
    while its token is good). Returns the note for the event's outcome."""
    from otodoke.line.services import must_stay_silent, reply_window
    from otodoke.line.tasks import offer_unlink_page

    silent = must_stay_silent(event)
    if silent:
        return f"; unlink keyword {silent}"
    workspace_id = event.workspace.pk
    token, until = reply_window(event)
    transaction.on_commit(lambda: offer_unlink_page.enqueue(workspace_id, user_id, token, until))
    return "; unlink page requested"
