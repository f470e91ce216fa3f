"""Starting account linking: the business invites a LINE-only friend to link their membership.

LINE's flow starts on the bot's side: issue a link token for the friend, then send them a URL on
our own site carrying it (here a buttons template with a URI action). What follows (the
verification page, the nonce, the `accountLink` event and the merge) lives in `linking`.
"""

from __future__ import annotations

import logging
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from otodoke.contacts.models import Contact, LineStatus
from otodoke.contacts.privacy import is_linked
from otodoke.line.client import LineApiError, LineClient, LineRetryKeyAcceptedError, with_backoff
from otodoke.line.linking import issue_account_link
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, record_audit, require

logger = logging.getLogger(__name__)


class LinkInviteRefused(Exception):  # noqa: N818 - reads as what happened
    """This contact cannot be invited; the message says why, in words for staff."""


def invite_problem(contact: Contact) -> str | None:
    """Why `contact` cannot be invited to link, or None when it can."""
    if not contact.line_user_id:
        return _("This contact has no LINE identity to link.")
    if contact.external_id is not None or contact.line_linked_at is not None:
        return _("This contact is already linked to a customer.")
    if contact.line_status == LineStatus.BLOCKED:
        return _("This friend has blocked the account, so LINE cannot deliver an invitation.")
    if contact.line_status != LineStatus.FOLLOWING:
        return _("This LINE user does not follow the account; only friends can be invited.")
    return None


def _friend_language(contact: Contact) -> str:
    """The friend's own LINE language when we speak it, else the install's default: the
    invitation goes to a customer, not to the staff member who happens to send it."""
    spoken = {code for code, _name in settings.LANGUAGES}
    language = (contact.line_language or "").split("-")[0].lower()
    return language if language in spoken else settings.LANGUAGE_CODE


def invite_message(url: str, language: str) -> dict[str, Any]:
    """A buttons template (text ≤ 160, label ≤ 20 characters at LINE) opening `url`."""
    with translation.override(language):
        return {
            "type": "template",
            "altText": _("Link your membership with LINE: %(url)s") % {"url": url},
            "template": {
                "type": "buttons",
                # LINE asks that users be told, when they link, that they can unlink.
                "text": _(
                    "Link your membership to receive offers made for you. "
                    "You can unlink at any time."
                ),
                "actions": [{"type": "uri", "label": _("Link membership"), "uri": url}],
            },
        }


@dataclass(frozen=True)
class LinkInviteSent:
    contact_id: int
    line_user_id: str
    link_token: str
    url: str
    request_id: str
    method: str = "push"  # or "reply": the event's reply token was still good

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact_id": self.contact_id,
            "line_user_id": self.line_user_id,
            "url": self.url,
            "request_id": self.request_id,
            "method": self.method,
        }


def send_link_invite(
    workspace: Workspace,
    contact: Contact,
    *,
    actor: AnyUser | None = None,
    label: str | None = None,
    reply_token: str = "",
    reply_until: float = 0.0,
) -> LinkInviteSent:
    """Issue a link token for this following, unlinked friend and send them the invitation:
    as a reply when `reply_token` is given and still valid (until `reply_until`, epoch
    seconds), which is free, else as a push, which counts against the monthly quota.

    `actor` is checked for the send permission (the CLI passes none and a `label`). Raises
    LinkInviteRefused for a contact that cannot be invited, LineApiError when LINE refuses.
    The audit entry is written once LINE accepted the message.
    """
    if actor is not None:
        require(actor, workspace, Permission.SEND)
    if contact.workspace_id != workspace.pk:
        raise LinkInviteRefused(_("This contact belongs to another workspace."))
    problem = invite_problem(contact)
    if problem is not None:
        raise LinkInviteRefused(problem)
    user_id = contact.line_user_id or ""
    retry_key = str(uuid.uuid4())
    with LineClient.for_workspace(workspace) as client:
        invite = issue_account_link(workspace, user_id, client=client)
        message = invite_message(invite.url, _friend_language(contact))

        def push() -> str:
            try:
                return client.push(user_id, [message], retry_key=retry_key)
            except LineRetryKeyAcceptedError as exc:  # an earlier try got through
                return exc.accepted_request_id or ""

        method = "push"
        replied = None
        if reply_token and time.time() < reply_until:
            replied = reply_or_none(client, reply_token, [message])
        if replied is not None:
            method, request_id = "reply", replied
        else:
            request_id = with_backoff(push, attempts=3)
    record_audit(
        workspace,
        AuditAction.LINK_INVITED,
        actor=actor,
        label=label,
        target=str(contact),
        details={"contact": contact.pk, "request_id": request_id, "method": method},
    )
    return LinkInviteSent(
        contact.pk, user_id, invite.link_token, invite.url, request_id, method=method
    )


def reply_or_none(
    client: LineClient, reply_token: str, messages: list[dict[str, Any]]
) -> str | None:
    """Reply with `reply_token`; None when LINE refuses the token (used, expired) or cannot be
    reached, so the caller pushes instead. Tried once: a token is single use, so retrying a
    reply cannot help. (A reply that timed out after LINE took it would be followed by the
    push: the friend may then see the invitation twice, which beats not seeing it.)"""
    try:
        return client.reply(reply_token, messages)
    except LineApiError as exc:
        logger.info("Reply not sent (%s); pushing instead", exc.describe())
        return None


def _normalised(text: str) -> str:
    # Full-width and half-width forms, case and surrounding spaces do not matter.
    return unicodedata.normalize("NFKC", text).strip().casefold()


def is_link_keyword(workspace: Workspace, text: str) -> bool:
    """Whether a friend's message asks for the invitation (the workspace's keyword, if set)."""
    keyword = _normalised(workspace.link_keyword)
    return bool(keyword) and _normalised(text) == keyword


def invite_on_request(
    workspace: Workspace, line_user_id: str, *, reply_token: str = "", reply_until: float = 0.0
) -> str:
    """The friend sent the keyword: invite them if they can be invited (a reply while the
    event's token is valid, else a push). Returns what happened (the reason when they cannot,
    e.g. already linked), for the task's result."""
    contact = Contact.objects.filter(workspace=workspace, line_user_id=line_user_id).first()
    if contact is None:
        return "no contact"
    if is_linked(contact):
        # Linked already: the keyword is answered with the way out, as LINE asks.
        from otodoke.line.unlinking import unlink_on_request

        return unlink_on_request(
            workspace, line_user_id, reply_token=reply_token, reply_until=reply_until
        )
    problem = invite_problem(contact)
    if problem is not None:
        return problem
    sent = send_link_invite(
        workspace, contact, label="keyword", reply_token=reply_token, reply_until=reply_until
    )
    return f"sent by {sent.method}"
