"""What a simulated friend can do: follow, block, unblock, talk, tap postbacks, open links.

Each action changes the friend's state first, then posts the matching webhook event.
"""

from __future__ import annotations

from typing import Any

import httpx

from line_emulator.friends import add_friend
from line_emulator.state import Channel, Click, Emulator, Friend, WebhookDelivery
from line_emulator.webhooks import make_event, webhook_sender


class UnknownFriendError(LookupError):
    pass


def friend_of(channel: Channel, user_id: str) -> Friend:
    friend = channel.friends.get(user_id)
    if friend is None:
        raise UnknownFriendError(user_id)
    return friend


async def follow(
    emulator: Emulator, channel: Channel, user_id: str | None, display_name: str | None = None
) -> tuple[Friend, WebhookDelivery]:
    """A new add (or a re-add after unfollowing): creates the friend if needed."""
    friend = channel.friends.get(user_id or "")
    if friend is None:
        friend = add_friend(emulator, channel, user_id, display_name)
    was_blocked = friend.status == "blocked"
    friend.status = "following"
    friend.followed_at = emulator.now()
    event = make_event(
        emulator, channel, friend.user_id, "follow", follow={"isUnblocked": was_blocked}
    )
    return friend, await webhook_sender(emulator).send(channel, [event])


async def unblock(
    emulator: Emulator, channel: Channel, user_id: str
) -> tuple[Friend, WebhookDelivery]:
    friend = friend_of(channel, user_id)
    friend.status = "following"
    friend.followed_at = emulator.now()
    event = make_event(emulator, channel, user_id, "follow", follow={"isUnblocked": True})
    return friend, await webhook_sender(emulator).send(channel, [event])


async def block(
    emulator: Emulator, channel: Channel, user_id: str
) -> tuple[Friend, WebhookDelivery]:
    """Blocking is what LINE reports as `unfollow`."""
    friend = friend_of(channel, user_id)
    friend.status = "blocked"
    event = make_event(emulator, channel, user_id, "unfollow")
    return friend, await webhook_sender(emulator).send(channel, [event])


async def send_text(
    emulator: Emulator, channel: Channel, user_id: str, text: str
) -> tuple[Friend, WebhookDelivery]:
    friend = friend_of(channel, user_id)
    rng = emulator.random
    message = {
        "type": "text",
        "id": str(rng.randrange(10**17, 10**18)),
        "quoteToken": f"q{rng.getrandbits(160):040x}",
        "text": text,
    }
    event = make_event(emulator, channel, user_id, "message", message=message)
    return friend, await webhook_sender(emulator).send(channel, [event])


async def postback(
    emulator: Emulator,
    channel: Channel,
    user_id: str,
    data: str,
    params: dict[str, Any] | None = None,
) -> tuple[Friend, WebhookDelivery]:
    friend = friend_of(channel, user_id)
    payload: dict[str, Any] = {"data": data}
    if params:
        payload["params"] = params
    event = make_event(emulator, channel, user_id, "postback", postback=payload)
    return friend, await webhook_sender(emulator).send(channel, [event])


def record_click(
    emulator: Emulator, channel: Channel, user_id: str, url: str, request_id: str | None
) -> Click:
    click = Click(user_id, request_id, url, emulator.now())
    channel.clicks.append(click)
    return click


async def open_link(
    emulator: Emulator, channel: Channel, user_id: str, url: str, request_id: str | None
) -> dict[str, Any]:
    """Record the tap, then GET the URL once without following redirects, as a browser's first
    hop would; returns the status and Location so a test can check a click redirector."""
    friend_of(channel, user_id)
    record_click(emulator, channel, user_id, url, request_id)
    client = webhook_sender(emulator).client
    try:
        response = await client.get(url, timeout=10.0)
    except httpx.HTTPError as exc:
        return {"url": url, "error": str(exc) or type(exc).__name__}
    return {
        "url": url,
        "status": response.status_code,
        "location": response.headers.get("location"),
    }
