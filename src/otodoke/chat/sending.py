"""Staff replies to a friend: by the friend's reply token while it is valid (free, once per
token), else by push, which counts against the month's quota.

Record before you send: the outgoing row, with its retry key when it goes by push, is
committed before LINE is called, and every later attempt (`deliver` again, after a crash or a
timeout) sends the same key, so LINE delivers it exactly once (a repeat is answered 409,
which counts as sent). Pushes take their turn from the push token bucket shared with
campaigns and scenarios, so a chat reply never breaks the channel's rate limit."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.campaigns import ratelimit
from otodoke.campaigns.conf import engine_conf
from otodoke.campaigns.quota import QuotaState, fetch_quota
from otodoke.chat.models import ChatMessage, Conversation, Direction, SendMethod, SendState
from otodoke.chat.services import ChatError, record_outbound_bump
from otodoke.chat.stickers import is_standard
from otodoke.contacts.models import LineStatus
from otodoke.line.client import (
    LineApiError,
    LineClient,
    LineRateLimitError,
    LineRetryKeyAcceptedError,
    with_backoff,
)
from otodoke.media import services as media
from otodoke.media.images import ImageRejectedError
from otodoke.media.models import HostedImage
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, require

logger = logging.getLogger(__name__)

TEXT_LIMIT = 5000  # LINE's limit for a text message
# LINE remembers a retry key for 24 h; past that a resend could deliver twice.
RETRY_WINDOW = timedelta(hours=23)


def text_message(text: str) -> dict[str, Any]:
    text = text.strip()
    if not text:
        raise ChatError(_("Write a message first."))
    if len(text) > TEXT_LIMIT:
        raise ChatError(
            _("LINE allows at most %(limit)s characters in a text message (this one has %(n)s).")
            % {"limit": f"{TEXT_LIMIT:,}", "n": f"{len(text):,}"}
        )
    return {"type": "text", "text": text}


def sticker_message(package_id: str, sticker_id: str) -> dict[str, Any]:
    if not is_standard(package_id, sticker_id):
        raise ChatError(_("Only LINE's standard stickers can be sent by a bot."))
    return {"type": "sticker", "packageId": package_id, "stickerId": sticker_id}


def require_https_images() -> None:
    """LINE fetches image URLs itself, over HTTPS only: refuse before anything is stored."""
    base = media.public_base()
    if not base.startswith("https://"):
        raise ChatError(
            _(
                "LINE only shows images from https:// addresses, and this server's public URL "
                "is %(url)s. Set OTODOKE_PUBLIC_URL (or OTODOKE_MEDIA_URL) to an https address "
                "to send images."
            )
            % {"url": base}
        )


def image_message(image: HostedImage) -> dict[str, Any]:
    """A LINE image message of a hosted image (original ≤ 10 MB, preview ≤ 1 MB, as hosted)."""
    require_https_images()
    found = media.urls(image)
    return {
        "type": "image",
        "originalContentUrl": found.original,
        "previewImageUrl": found.preview,
    }


def upload_image_message(
    workspace: Workspace, data: bytes, *, name: str = "", actor: AnyUser | None = None
) -> dict[str, Any]:
    """Host an uploaded file (checked and converted to LINE's sizes) and make it an image
    message; a file LINE cannot show, or a server without https, raises ChatError with why."""
    require_https_images()
    try:
        image = media.upload_image(workspace, data, name=name, actor=actor)
    except ImageRejectedError as exc:
        raise ChatError(str(exc)) from exc
    return image_message(image)


def reply_token_row(conversation: Conversation, now: datetime) -> ChatMessage | None:
    """The friend's newest message whose reply token is unused and still valid."""
    return (
        ChatMessage.objects.filter(
            conversation=conversation,
            direction=Direction.IN,
            reply_token_used=False,
            reply_until__gt=now,
        )
        .exclude(reply_token="")
        .order_by("-at", "-pk")
        .first()
    )


def claim_reply_token(conversation: Conversation, now: datetime) -> str:
    """Take the valid reply token for one reply (a token is single use); "" when none."""
    while True:
        row = reply_token_row(conversation, now)
        if row is None:
            return ""
        taken = ChatMessage.objects.filter(pk=row.pk, reply_token_used=False).update(
            reply_token_used=True
        )
        if taken:
            return row.reply_token


def reply_method(conversation: Conversation, now: datetime | None = None) -> str:
    """How a reply written now would go: "reply" (free) or "push" (counts)."""
    row = reply_token_row(conversation, now or timezone.now())
    return SendMethod.REPLY if row is not None else SendMethod.PUSH


def send_reply(
    workspace: Workspace,
    conversation: Conversation,
    messages: list[dict[str, Any]],
    *,
    actor: AnyUser | None = None,
    via: str = "web",
    now: datetime | None = None,
) -> ChatMessage:
    """Send `messages` (1–5 LINE message objects built by `text_message`/`sticker_message`)
    to the conversation's friend and return the stored outgoing message (state sent or
    failed, with the reason). Raises ChatError when it cannot be sent at all."""
    if actor is not None:
        require(actor, workspace, Permission.SEND)
    if conversation.workspace_id != workspace.pk:
        raise ChatError(_("This conversation belongs to another workspace."))
    if not 1 <= len(messages) <= 5:
        raise ChatError(_("LINE sends 1 to 5 messages at a time."))
    contact = conversation.contact
    if not contact.line_user_id:
        raise ChatError(_("This contact has no LINE identity to write to."))
    if contact.line_status == LineStatus.BLOCKED:
        raise ChatError(_("This friend has blocked the account; LINE cannot deliver."))
    now = now or timezone.now()
    token = claim_reply_token(conversation, now)
    first = messages[0]
    message = ChatMessage.objects.create(
        workspace=workspace,
        conversation=conversation,
        direction=Direction.OUT,
        kind=str(first.get("type", "text")),
        text=str(first.get("text", "")),
        body={"messages": messages, "reply_token": token},
        at=now,
        method=SendMethod.REPLY if token else SendMethod.PUSH,
        state=SendState.PENDING,
        # The key exists before any request: a push and every retry of it carry it.
        retry_key=uuid.uuid4(),
        sent_by=actor if actor is not None and actor.is_authenticated else None,
        sent_via=via,
    )
    record_outbound_bump(message)
    return deliver(message.pk)


def _take_push_token(channel_id: str, *, budget: float = 5.0) -> bool:
    conf = engine_conf()
    rate = conf.rates.get("push", conf.rates["other"]) * conf.rate_share
    deadline = time.monotonic() + budget
    while True:
        granted, wait = ratelimit.take_tokens(
            ratelimit.bucket_key(channel_id, "push"),
            rate=rate,
            capacity=max(1.0, rate / 4),
            wanted=1,
        )
        if granted:
            return True
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(min(max(wait, 0.001), 0.5))


def _finish(pk: int, **fields: Any) -> ChatMessage:
    ChatMessage.objects.filter(pk=pk).update(**fields)
    return ChatMessage.objects.get(pk=pk)


def deliver(pk: int) -> ChatMessage:
    """Send a stored outgoing message that is still pending; safe to call again (a push
    repeats its retry key). Returns the row with its final state."""
    with transaction.atomic():
        message = (
            ChatMessage.objects.select_for_update()
            .select_related("workspace", "conversation__contact")
            .get(pk=pk)
        )
    if message.direction != Direction.OUT or message.state != SendState.PENDING:
        return message
    if timezone.now() - message.at > RETRY_WINDOW:
        return _finish(
            pk,
            state=SendState.FAILED,
            error=_("Not resent: LINE's 24-hour retry window has passed."),
        )
    workspace = message.workspace
    user_id = message.conversation.contact.line_user_id or ""
    messages: list[dict[str, Any]] = message.body.get("messages", [])
    with LineClient.for_workspace(workspace) as client:
        if message.method == SendMethod.REPLY:
            try:
                request_id = client.reply(str(message.body.get("reply_token", "")), messages)
                return _finish(pk, state=SendState.SENT, request_id=request_id[:64], error="")
            except LineApiError as exc:
                # Used elsewhere (an auto-reply answered first) or expired: push instead.
                logger.info("Chat reply %s not sent by reply (%s); pushing", pk, exc.describe())
                ChatMessage.objects.filter(pk=pk).update(method=SendMethod.PUSH)
        return _push(client, workspace, pk, user_id, messages, str(message.retry_key))


def _push(
    client: LineClient,
    workspace: Workspace,
    pk: int,
    user_id: str,
    messages: list[dict[str, Any]],
    retry_key: str,
) -> ChatMessage:
    if not _take_push_token(workspace.channel_id):
        return _finish(pk, error=_("LINE's rate limit is busy; the reply is still queued."))

    def push() -> str:
        try:
            return client.push(user_id, messages, retry_key=retry_key)
        except LineRetryKeyAcceptedError as exc:  # an earlier attempt got through
            return exc.accepted_request_id or ""

    try:
        request_id = with_backoff(push, attempts=3)
    except LineRateLimitError as exc:
        if exc.kind == "monthly_limit":
            return _finish(
                pk,
                state=SendState.FAILED,
                error=_("The month's message quota is used up; LINE did not send the push."),
            )
        return _finish(pk, error=exc.describe())  # stays pending: retried with the same key
    except LineApiError as exc:
        if exc.transient:
            return _finish(pk, error=exc.describe())
        return _finish(pk, state=SendState.FAILED, error=exc.describe())
    return _finish(pk, state=SendState.SENT, request_id=request_id[:64], error="")


def retry_pending(workspace: Workspace) -> int:
    """Deliver again every outgoing message left pending (a crash, a timeout); same keys."""
    pks = list(
        ChatMessage.objects.filter(
            workspace=workspace, direction=Direction.OUT, state=SendState.PENDING
        ).values_list("pk", flat=True)
    )
    for pk in pks:
        deliver(pk)
    return len(pks)


def push_quota(workspace: Workspace) -> QuotaState | None:
    """This month's quota as LINE reports it, for the reply box; None when LINE cannot say."""
    try:
        with LineClient.for_workspace(workspace) as client:
            return fetch_quota(client)
    except LineApiError:
        return None
