"""The inbox pages (チャット). Thin: every change is one `chat.services`/`chat.sending` call.

Everyone in the workspace reads (viewers with personal data masked); replying, assigning,
closing, notes and saved replies need Permission.SEND, as operators have. The inbox list and
the open conversation's timeline are htmx partials polled every few seconds, so a friend's
new message appears without a reload."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otodoke.chat import presenters, sending, services
from otodoke.chat.content import SAFE_INLINE_TYPES
from otodoke.chat.forms import NoteForm, ReplyForm, SavedReplyForm, StateForm
from otodoke.chat.models import (
    ChatMessage,
    ContentState,
    Conversation,
    ConversationState,
    SavedReply,
    SendMethod,
    SendState,
)
from otodoke.chat.stickers import PICKER
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.htmx import render_page
from otodoke.workspaces.models import Membership
from otodoke.workspaces.roles import Permission

FILTERS = ("open", "done", "mine", "all")


def _base(access: WorkspaceAccess, **more: Any) -> dict[str, Any]:
    return {"access": access, "section": "chat", **more}


def _conversations(request: HttpRequest, access: WorkspaceAccess) -> tuple[str, QuerySet[Any]]:
    show = request.GET.get("show", "open")
    show = show if show in FILTERS else "open"
    found = (
        Conversation.objects.filter(workspace=access.workspace, last_message_at__isnull=False)
        .select_related("contact", "assignee")
        .order_by("-last_message_at", "-pk")
    )
    if show in ("open", "done"):
        found = found.filter(state=show)
    elif show == "mine":
        found = found.filter(assignee=access.user, state=ConversationState.OPEN)
    return show, found[:200]


def _list_context(request: HttpRequest, access: WorkspaceAccess, current: int | None) -> Any:
    show, found = _conversations(request, access)
    return {
        "show": show,
        "filters": FILTERS,
        "conversations": [
            (c, presenters.display_name(c.contact), presenters.preview(access, c)) for c in found
        ],
        "current_id": current,
    }


@workspace_view()
def inbox(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    context = _base(access, **_list_context(request, access, None))
    return render_page(request, "chat/inbox.html", context)


@workspace_view()
def inbox_list(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    current = request.GET.get("current")
    context = _base(access, **_list_context(request, access, int(current) if current else None))
    return render_page(request, "chat/_list.html", context)


def _conversation(access: WorkspaceAccess, conversation_id: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("contact", "assignee"),
        pk=conversation_id,
        workspace=access.workspace,
    )


def _timeline_context(access: WorkspaceAccess, conversation: Conversation) -> dict[str, Any]:
    if access.can(Permission.SEND):
        services.mark_read(conversation)  # the member is looking at it now
    return {"conversation": conversation, "rows": presenters.rows(access, conversation)}


@workspace_view()
def conversation(
    request: HttpRequest, access: WorkspaceAccess, conversation_id: int
) -> HttpResponse:
    found = _conversation(access, conversation_id)
    method = sending.reply_method(found)
    quota = (
        sending.push_quota(access.workspace)
        if method == SendMethod.PUSH and access.can(Permission.SEND)
        else None
    )
    members = (
        Membership.objects.filter(workspace=access.workspace)
        .select_related("user")
        .order_by("user__username")
    )
    context = _base(
        access,
        **_list_context(request, access, found.pk),
        **_timeline_context(access, found),
        **presenters.sidebar(access, found.contact),
        reply_form=ReplyForm(),
        note_form=NoteForm(),
        method=method,
        quota=quota,
        stickers=PICKER,
        saved=SavedReply.objects.filter(workspace=access.workspace),
        members=[m.user for m in members],
        notes=found.notes.select_related("author").order_by("-created_at")[:20],
        states=ConversationState.choices,
    )
    return render_page(request, "chat/conversation.html", context)


@workspace_view()
def timeline_part(
    request: HttpRequest, access: WorkspaceAccess, conversation_id: int
) -> HttpResponse:
    found = _conversation(access, conversation_id)
    context = _base(access, **_timeline_context(access, found))
    return render_page(request, "chat/_timeline.html", context)


def _back(access: WorkspaceAccess, conversation_id: int) -> HttpResponse:
    return redirect("web:chat_conversation", access.workspace.slug, conversation_id)


def _image_reply(access: WorkspaceAccess, image: UploadedFile[Any] | None, text: str) -> list[Any]:
    """The uploaded image as a LINE image message, after the text when one is written too
    (both go in one request, so the friend gets both or neither)."""
    if image is None:
        raise services.ChatError(_("Choose an image file."))
    before = [sending.text_message(text)] if text.strip() else []  # checked before the upload
    picture = sending.upload_image_message(
        access.workspace, image.read(), name=image.name or "", actor=access.user
    )
    return [*before, picture]


@require_POST
@workspace_view(Permission.SEND)
def reply(request: HttpRequest, access: WorkspaceAccess, conversation_id: int) -> HttpResponse:
    found = _conversation(access, conversation_id)
    form = ReplyForm(request.POST, request.FILES)
    form.is_valid()
    data = form.cleaned_data
    saved_id = request.POST.get("saved")
    image = request.FILES.get("image")
    try:
        if data.get("sticker"):
            package, _slash, sticker = str(data["sticker"]).partition("/")
            outgoing = [sending.sticker_message(package, sticker)]
        elif image is not None or request.POST.get("send_image"):
            outgoing = _image_reply(access, image, str(data.get("text") or ""))
        elif saved_id:
            saved = get_object_or_404(SavedReply, pk=saved_id, workspace=access.workspace)
            outgoing = [sending.text_message(saved.text)]
        else:
            outgoing = [sending.text_message(str(data.get("text") or ""))]
        sent = sending.send_reply(access.workspace, found, outgoing, actor=access.user, via="web")
    except services.ChatError as exc:
        messages.error(request, str(exc))
        return _back(access, found.pk)
    if sent.state == SendState.FAILED:
        messages.error(request, _("LINE did not take the reply: %(error)s") % {"error": sent.error})
    elif sent.state == SendState.PENDING:
        messages.warning(request, _("The reply is queued: %(error)s") % {"error": sent.error})
    return _back(access, found.pk)


@require_POST
@workspace_view(Permission.SEND)
def state(request: HttpRequest, access: WorkspaceAccess, conversation_id: int) -> HttpResponse:
    found = _conversation(access, conversation_id)
    form = StateForm(request.POST)
    if form.is_valid():
        services.set_state(access.workspace, found, form.cleaned_data["state"], actor=access.user)
    return _back(access, found.pk)


@require_POST
@workspace_view(Permission.SEND)
def assign(request: HttpRequest, access: WorkspaceAccess, conversation_id: int) -> HttpResponse:
    found = _conversation(access, conversation_id)
    user_id = request.POST.get("assignee") or ""
    assignee = User.objects.filter(pk=user_id).first() if user_id.isdigit() else None
    try:
        services.assign(access.workspace, found, assignee, actor=access.user)
    except services.ChatError as exc:
        messages.error(request, str(exc))
    return _back(access, found.pk)


@require_POST
@workspace_view(Permission.SEND)
def note(request: HttpRequest, access: WorkspaceAccess, conversation_id: int) -> HttpResponse:
    found = _conversation(access, conversation_id)
    try:
        services.add_note(access.workspace, found, request.POST.get("text", ""), actor=access.user)
    except services.ChatError as exc:
        messages.error(request, str(exc))
    return _back(access, found.pk)


@workspace_view()
def content(request: HttpRequest, access: WorkspaceAccess, message_id: int) -> HttpResponse:
    """A friend's stored image or file, for members only (never a public media URL)."""
    message = get_object_or_404(ChatMessage, pk=message_id, workspace=access.workspace)
    if message.content_state != ContentState.STORED or not message.content_file:
        raise Http404
    inline = message.content_type in SAFE_INLINE_TYPES
    name = str(message.body.get("fileName") or message.content_file.rsplit("/", 1)[-1])
    response = FileResponse(
        default_storage.open(message.content_file),
        as_attachment=not inline,
        filename=name,
        content_type=message.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Streamed from storage; workspace_view is typed for HttpResponse.
    return cast(HttpResponse, response)


@workspace_view()
def saved_replies(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = SavedReplyForm(request.POST or None)
    if request.method == "POST":
        access.require(Permission.SEND)
        if form.is_valid():
            try:
                services.save_reply(
                    access.workspace,
                    form.cleaned_data["title"],
                    form.cleaned_data["text"],
                    actor=access.user,
                )
            except services.ChatError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved reply added."))
                return redirect("web:chat_saved_replies", access.workspace.slug)
    context = _base(access, form=form, saved=SavedReply.objects.filter(workspace=access.workspace))
    return render_page(request, "chat/saved_replies.html", context)


@require_POST
@workspace_view(Permission.SEND)
def saved_reply_delete(
    request: HttpRequest, access: WorkspaceAccess, reply_id: int
) -> HttpResponse:
    found = get_object_or_404(SavedReply, pk=reply_id, workspace=access.workspace)
    services.delete_saved_reply(access.workspace, found, actor=access.user)
    messages.success(request, _("Saved reply deleted."))
    return redirect("web:chat_saved_replies", access.workspace.slug)
