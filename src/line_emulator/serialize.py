"""JSON views of emulator state for the control API."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from line_emulator.state import Channel, Click, Friend, RequestRecord, WebhookDelivery


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def channel_json(channel: Channel, with_secrets: bool = False) -> dict[str, Any]:
    config = asdict(channel.config)
    if not with_secrets:
        config.pop("channel_secret")
    following = sum(1 for f in channel.friends.values() if f.status == "following")
    return {**config, "friends": len(channel.friends), "following": following}


def friend_json(friend: Friend) -> dict[str, Any]:
    return {
        "user_id": friend.user_id,
        "display_name": friend.display_name,
        "picture_url": friend.picture_url,
        "language": friend.language,
        "status": friend.status,
        "gender": friend.gender,
        "age": friend.age,
        "area": friend.area,
        "app_type": friend.app_type,
        "followed_at": iso(friend.followed_at),
        "received": len(friend.received),
    }


def record_json(record: RequestRecord, with_recipients: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "request_id": record.request_id,
        "endpoint": record.endpoint,
        "channel_id": record.channel_id,
        "time": iso(record.time),
        "messages": record.messages,
        "retry_key": record.retry_key,
        "notification_disabled": record.notification_disabled,
        "sent_messages": record.sent_messages,
        "target_count": record.target_count,
        "recipient_count": len(record.recipients),
    }
    if with_recipients:
        body["recipients"] = record.recipients
    return body


def webhook_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "delivery_id": delivery.delivery_id,
        "channel_id": delivery.channel_id,
        "succeeded": delivery.succeeded,
        "events": delivery.events,
        "attempts": [
            {
                "time": iso(a.time),
                "is_redelivery": a.is_redelivery,
                "status_code": a.status_code,
                "error": a.error,
                "detail": a.detail,
            }
            for a in delivery.attempts
        ],
    }


def click_json(click: Click) -> dict[str, Any]:
    return {
        "user_id": click.user_id,
        "request_id": click.request_id,
        "url": click.url,
        "time": iso(click.time),
    }
