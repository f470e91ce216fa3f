"""Auto-reply sending: one task per recorded answer, enqueued after the webhook event's
processing commits, on the webhooks lane (a reply token lasts about a minute)."""

from __future__ import annotations

from django.tasks import task

from otodoke.core import lanes


@task(queue_name=lanes.WEBHOOKS)
def send_auto_reply(reply_id: int) -> str:
    from otodoke.autoreplies.replies import deliver

    return deliver(reply_id)
