"""Conversations of the 1:1 chat inbox: list, read a timeline, reply — what a POS or booking
system uses to message one customer ("your appointment is confirmed"), through
`otodoke.chat.sending` (by reply token while valid, else a push that counts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field, StringConstraints

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ApiError
from otodoke.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page
from otodoke.chat import sending, services
from otodoke.chat.models import ChatMessage, Conversation, SavedReply
from otodoke.chat.presenters import display_name
from otodoke.chat.timeline import summary, timeline
from otodoke.contacts.models import Contact
from otodoke.media.images import ImageRejectedError
from otodoke.media.models import HostedImage
from otodoke.media.services import upload_image
from otodoke.web.pii import mask_text
from otodoke.workspaces.roles import Permission

router = Router()


class ConversationOut(Schema):
    id: int
    contact_id: int
    name: str
    state: str
    unread: int
    assignee: str | None
    last_message_at: datetime | None
    last_type: str
    last_text: str


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class ListParams(Schema):
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    state: Literal["open", "done", "all"] = "all"
    unread: bool = False


class TimelineParams(Schema):
    limit: int = Field(default=100, ge=1, le=500)


class MessageOut(Schema):
    at: datetime
    direction: Literal["in", "out"]
    source: str = Field(description="friend, staff, campaign, scenario (or another app's)")
    label: str = Field(description="the campaign's or scenario's name, or who replied")
    summary: str
    messages: list[dict[str, Any]] = Field(description="the LINE message objects")
    method: str = Field(description="reply or push, for staff replies")
    state: str = Field(description="received, sent, pending or failed")
    error: str


class Sticker(Schema):
    package_id: Annotated[str, StringConstraints(max_length=20)] = Field(examples=["446"])
    sticker_id: Annotated[str, StringConstraints(max_length=20)] = Field(examples=["1988"])


class ReplyIn(Schema):
    text: Annotated[str, StringConstraints(max_length=20000)] | None = Field(
        default=None, examples=["ご予約を承りました。12月5日 15:00にお待ちしております。"]
    )
    sticker: Sticker | None = None
    saved_reply_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    image_id: int | None = Field(
        default=None,
        ge=1,
        le=2**63 - 1,
        description="a hosted image's ID (uploaded in the composer, `otodoke chat reply "
        "--image` or `otodoke images`); sent as a LINE image message",
    )


class ReplyOut(Schema):
    id: int
    conversation_id: int
    method: str = Field(description="reply (free) or push (counts against the quota)")
    state: str = Field(description="sent, failed, or pending (retried with the same key)")
    request_id: str
    error: str


def conversation_out(caller: Caller, c: Conversation) -> ConversationOut:
    text = c.last_preview if c.last_kind == "text" else summary({"type": c.last_kind})
    if not caller.sees_pii:
        text = mask_text(text)
    return ConversationOut(
        id=c.pk,
        contact_id=c.contact_id,
        name=display_name(c.contact),
        state=c.state,
        unread=c.unread,
        assignee=c.assignee.get_username() if c.assignee else None,
        last_message_at=c.last_message_at,
        last_type=c.last_kind,
        last_text=text if c.last_kind else "",
    )


@router.get("", response={200: ConversationPage, **COMMON_ERRORS}, summary="List conversations")
def list_conversations(request: HttpRequest, params: Query[ListParams]) -> ConversationPage:
    return conversation_page(principal(request), params)


def conversation_page(caller: Caller, params: ListParams) -> ConversationPage:
    caller.require(Permission.VIEW)
    qs = Conversation.objects.filter(
        workspace=caller.workspace, last_message_at__isnull=False
    ).select_related("contact", "assignee")
    if params.state != "all":
        qs = qs.filter(state=params.state)
    if params.unread:
        qs = qs.filter(unread__gt=0)
    rows, next_cursor = page(qs, cursor=params.cursor, limit=params.limit)
    return ConversationPage(
        items=[conversation_out(caller, c) for c in rows], next_cursor=next_cursor
    )


def _conversation(caller: Caller, conversation_id: int) -> Conversation:
    return Conversation.objects.select_related("contact", "assignee").get(
        workspace=caller.workspace, pk=conversation_id
    )


@router.get(
    "/{conversation_id}/messages",
    response={200: list[MessageOut], **COMMON_ERRORS},
    summary="A conversation's timeline, oldest first",
    description="The friend's messages, staff replies, and what campaigns and scenarios sent "
    "the friend, in one list. Without the `pii` scope, phone numbers, e-mails and LINE user "
    "IDs inside the friend's texts are masked.",
)
def list_messages(
    request: HttpRequest, conversation_id: int, params: Query[TimelineParams]
) -> list[MessageOut]:
    return messages(principal(request), conversation_id, params)


def messages(caller: Caller, conversation_id: int, params: TimelineParams) -> list[MessageOut]:
    caller.require(Permission.VIEW)
    conversation = _conversation(caller, conversation_id)
    found = []
    for item in timeline(conversation, limit=params.limit):
        chat = item.chat
        text = " / ".join(summary(m) for m in item.messages)
        bodies = item.messages
        if item.direction == "in" and not caller.sees_pii:
            text = mask_text(text)
            bodies = [{**m, "text": mask_text(m["text"])} if "text" in m else m for m in bodies]
        found.append(
            MessageOut(
                at=item.at,
                direction="in" if item.direction == "in" else "out",
                source=item.source,
                label=item.label,
                summary=text,
                messages=bodies,
                method=chat.method if chat else "",
                state=chat.state if chat else "sent",
                error=chat.error if chat else "",
            )
        )
    return found


def _outgoing(caller: Caller, payload: ReplyIn) -> list[dict[str, Any]]:
    given = [
        payload.text is not None,
        payload.sticker is not None,
        bool(payload.saved_reply_id),
        bool(payload.image_id),
    ]
    if sum(given) != 1:
        raise ApiError(
            422,
            _("Give exactly one of text, sticker, saved_reply_id or image_id"),
            code="validation_error",
            details=[("text", _("Give exactly one of text, sticker, saved_reply_id or image_id"))],
        )
    if payload.image_id:
        return [_image(caller, payload.image_id)]
    try:
        if payload.sticker is not None:
            return [sending.sticker_message(payload.sticker.package_id, payload.sticker.sticker_id)]
        if payload.saved_reply_id:
            saved = SavedReply.objects.filter(
                workspace=caller.workspace, pk=payload.saved_reply_id
            ).first()
            if saved is None:
                raise ApiError(
                    422,
                    _("No such saved reply"),
                    code="validation_error",
                    details=[("saved_reply_id", _("No such saved reply"))],
                )
            return [sending.text_message(saved.text)]
        return [sending.text_message(payload.text or "")]
    except services.ChatError as exc:
        field = "sticker" if payload.sticker is not None else "text"
        raise ApiError(422, str(exc), code="validation_error", details=[(field, str(exc))]) from exc


def _image(caller: Caller, image_id: int) -> dict[str, Any]:
    image = HostedImage.objects.filter(workspace=caller.workspace, pk=image_id).first()
    if image is None:
        raise ApiError(
            422,
            _("No such image"),
            code="validation_error",
            details=[("image_id", _("No such image"))],
        )
    try:
        return sending.image_message(image)
    except services.ChatError as exc:
        raise ApiError(
            422, str(exc), code="validation_error", details=[("image_id", str(exc))]
        ) from exc


def upload_for_reply(caller: Caller, data: bytes, name: str) -> int:
    """Host a file for an image reply (the CLI's `--image`); its ID, or a 422 with the reason."""
    caller.require(Permission.SEND)
    try:
        sending.require_https_images()
        image = upload_image(caller.workspace, data, name=name)
    except (services.ChatError, ImageRejectedError) as exc:
        raise ApiError(
            422, str(exc), code="validation_error", details=[("image", str(exc))]
        ) from exc
    return image.pk


def _send(caller: Caller, conversation: Conversation, payload: ReplyIn) -> ReplyOut:
    outgoing = _outgoing(caller, payload)
    try:
        sent: ChatMessage = sending.send_reply(
            caller.workspace, conversation, outgoing, actor=None, via="api"
        )
    except services.ChatError as exc:
        raise ApiError(409, str(exc), code="invalid_state") from exc
    return ReplyOut(
        id=sent.pk,
        conversation_id=conversation.pk,
        method=sent.method,
        state=sent.state,
        request_id=sent.request_id,
        error=sent.error,
    )


@router.post(
    "/{conversation_id}/reply",
    response={201: ReplyOut, **COMMON_ERRORS},
    summary="Reply in a conversation",
    description="Sent by the friend's reply token while one is valid (free), otherwise by "
    "push, which counts against the month's message quota. Give exactly one of `text` "
    "(≤ 5,000 characters), `sticker` (LINE's standard stickers), `saved_reply_id` or "
    "`image_id` (a hosted image, sent by its https URLs).",
)
def reply(request: HttpRequest, conversation_id: int, payload: ReplyIn) -> Status[ReplyOut]:
    return Status(201, reply_in(principal(request), conversation_id, payload))


def reply_in(caller: Caller, conversation_id: int, payload: ReplyIn) -> ReplyOut:
    caller.require(Permission.SEND)
    return _send(caller, _conversation(caller, conversation_id), payload)


@router.post(
    "/{conversation_id}/reply/image",
    response={201: ReplyOut, **COMMON_ERRORS},
    summary="Reply with an uploaded image (multipart)",
    description="`file` (JPEG or PNG) is checked, converted to LINE's sizes, hosted at "
    "Otodoke's https URL and sent as a LINE image message, by the same reply/push rules "
    "as `/reply`. A file LINE cannot show, or a server whose public URL is not https, "
    "answers 422 and nothing is stored or sent.",
)
def reply_image(
    request: HttpRequest, conversation_id: int, file: File[UploadedFile]
) -> Status[ReplyOut]:
    caller = principal(request)
    conversation = _conversation_for_send(caller, conversation_id)
    image_id = upload_for_reply(caller, file.read(), file.name or "")
    return Status(201, _send(caller, conversation, ReplyIn(image_id=image_id)))


def _conversation_for_send(caller: Caller, conversation_id: int) -> Conversation:
    caller.require(Permission.SEND)
    return _conversation(caller, conversation_id)


@router.post(
    "/by-contact/{contact_id}/reply",
    response={201: ReplyOut, **COMMON_ERRORS},
    summary="Message a contact 1:1 (opens their conversation if needed)",
    description="For a POS or booking system that knows the customer, not the conversation: "
    "the message joins the contact's chat timeline, where staff see it.",
)
def reply_to_contact(request: HttpRequest, contact_id: int, payload: ReplyIn) -> Status[ReplyOut]:
    return Status(201, contact_reply(principal(request), contact_id, payload))


def contact_reply(caller: Caller, contact_id: int, payload: ReplyIn) -> ReplyOut:
    caller.require(Permission.SEND)
    contact = Contact.objects.get(workspace=caller.workspace, pk=contact_id)
    conversation = services.conversation_for(caller.workspace, contact.pk)
    return _send(caller, conversation, payload)
