"""Background work of the chat inbox; tasks take IDs and are safe to run twice."""

from __future__ import annotations

from django.tasks import task

from otodoke.core import lanes


# Not on the webhooks lane: a slow download must not hold up LINE's events.
@task(queue_name=lanes.DEFAULT)
def fetch_message_content(message_pk: int) -> str:
    """Download the image or file a friend sent and store it (see `chat.content`)."""
    from otodoke.chat.content import fetch_content

    return fetch_content(message_pk)
