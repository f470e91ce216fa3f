"""Downloading what a friend sent (an image, a file) from LINE's content endpoint and keeping
it in Django's default storage; staff see it through `views.content`, never a public URL."""

from __future__ import annotations

import logging
import mimetypes

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from otodoke.chat.models import ChatMessage, ContentState
from otodoke.line.client import LineApiError, LineClient, with_backoff

logger = logging.getLogger(__name__)

# LINE lets a friend send files up to 300 MB; images are far smaller. Keep the inbox sane.
MAX_CONTENT_BYTES = 50 * 1024 * 1024
SAFE_INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


def storage_name(message: ChatMessage, content_type: str) -> str:
    ext = mimetypes.guess_extension(content_type) or ".bin"
    if message.kind == "file":
        ext = ".bin"  # served as an attachment with its own name; never executed
    return f"chat/{message.workspace_id}/{message.line_message_id}{ext}"


def fetch_content(message_pk: int) -> str:
    """Download and store one message's content once; safe to run twice. Returns the state."""
    message = ChatMessage.objects.select_related("workspace").filter(pk=message_pk).first()
    if message is None:
        return "missing"
    if message.content_state != ContentState.PENDING:
        return str(message.content_state)
    try:
        with LineClient.for_workspace(message.workspace) as client:
            data, content_type = with_backoff(
                lambda: client.get_message_content(
                    message.line_message_id, max_bytes=MAX_CONTENT_BYTES
                ),
                attempts=4,
            )
    except LineApiError as exc:
        if exc.transient:
            raise  # the task fails and can be retried; the row stays pending
        logger.info("Content of chat message %s not available: %s", message_pk, exc.describe())
        ChatMessage.objects.filter(pk=message_pk).update(content_state=ContentState.FAILED)
        return ContentState.FAILED
    name = default_storage.save(storage_name(message, content_type), ContentFile(data))
    updated = ChatMessage.objects.filter(pk=message_pk, content_state=ContentState.PENDING).update(
        content_state=ContentState.STORED, content_file=name, content_type=content_type[:100]
    )
    if not updated:  # another run stored it meanwhile; keep one copy
        default_storage.delete(name)
    return ContentState.STORED
