"""Control API for simulated friends: create, act (webhooks), and what they received."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import actions
from line_emulator.friends import add_friend, create_friends
from line_emulator.http import LineError, get_emulator, read_json_object
from line_emulator.serialize import click_json, friend_json, record_json, webhook_json
from line_emulator.state import Channel, Emulator, Friend, WebhookDelivery
from line_emulator.webhooks import webhook_sender

PREFIX = "/_emulator/channels/{channel_id}"
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
STATUSES = ("following", "blocked", "unfollowed-never")
_FRIEND_ATTRS = ("picture_url", "language", "gender", "age", "area", "app_type")


def channel_or_404(emulator: Emulator, channel_id: str) -> Channel:
    channel = emulator.channel_by_id(channel_id)
    if channel is None:
        raise LineError(404, f"No channel {channel_id}")
    return channel


def _channel(request: Request) -> tuple[Emulator, Channel]:
    emulator = get_emulator(request)
    return emulator, channel_or_404(emulator, request.path_params["channel_id"])


def _friend(channel: Channel, user_id: str) -> Friend:
    friend = channel.friends.get(user_id)
    if friend is None:
        raise LineError(404, f"No friend {user_id}")
    return friend


async def friends(request: Request) -> Response:
    """GET lists friends (?status=&offset=&limit=). POST creates them without webhooks:
    {"count": N, "status": "following"} for random ones, or {"friends": [{user_id?,
    display_name?, status?, gender?, age?, area?, app_type?, language?}, ...]}."""
    emulator, channel = _channel(request)
    if request.method == "GET":
        status = request.query_params.get("status")
        offset = int(request.query_params.get("offset", "0"))
        limit = int(request.query_params.get("limit", "1000"))
        matching = [f for f in channel.friends.values() if status is None or f.status == status]
        page = matching[offset : offset + limit]
        return JSONResponse({"total": len(matching), "friends": [friend_json(f) for f in page]})
    body = await read_json_object(request)
    status = body.get("status", "following")
    if status not in STATUSES:
        raise LineError(400, f"status must be one of {STATUSES}")
    if "friends" in body:
        created = [_add_described(emulator, channel, spec) for spec in body["friends"]]
    else:
        count = body.get("count", 1)
        if not isinstance(count, int) or count < 0:
            raise LineError(400, "count must be a non-negative integer")
        created = create_friends(emulator, channel, count, status)
    # Listing 100k created friends back would be slow and useless; return the first 1000.
    return JSONResponse(
        {"created": len(created), "friends": [friend_json(f) for f in created[:1000]]},
        status_code=201,
    )


def _add_described(emulator: Emulator, channel: Channel, spec: Any) -> Friend:
    if not isinstance(spec, dict):
        raise LineError(400, "each friend must be an object")
    user_id = spec.get("user_id")
    if user_id is not None and not (isinstance(user_id, str) and USER_ID_RE.match(user_id)):
        raise LineError(400, f"user_id must be U followed by 32 hex digits: {user_id!r}")
    status = spec.get("status", "following")
    if status not in STATUSES:
        raise LineError(400, f"status must be one of {STATUSES}")
    friend = channel.friends.get(user_id) if user_id is not None else None
    if friend is None:
        friend = add_friend(emulator, channel, user_id, spec.get("display_name"), status)
    else:  # described again (a restarted demo): update it, keep what it received
        friend.status = status
        if spec.get("display_name") is not None:
            friend.display_name = spec["display_name"]
    for key in _FRIEND_ATTRS:
        if key in spec:
            setattr(friend, key, spec[key])
    return friend


async def friend_detail(request: Request) -> Response:
    _, channel = _channel(request)
    return JSONResponse(friend_json(_friend(channel, request.path_params["user_id"])))


async def friend_messages(request: Request) -> Response:
    """Everything the friend received, oldest first."""
    _, channel = _channel(request)
    friend = _friend(channel, request.path_params["user_id"])
    return JSONResponse(
        {"user_id": friend.user_id, "received": [record_json(r) for r in friend.received]}
    )


async def friend_action(request: Request) -> Response:
    emulator, channel = _channel(request)
    user_id = request.path_params["user_id"]
    action = request.path_params["action"]
    body: dict[str, Any] = {}
    if int(request.headers.get("content-length", "0") or 0) > 0:
        body = await read_json_object(request)
    try:
        if action == "follow":
            if not USER_ID_RE.match(user_id):
                raise LineError(400, "user_id must be U followed by 32 hex digits")
            friend, delivery = await actions.follow(
                emulator, channel, user_id, body.get("display_name")
            )
        elif action == "block":
            friend, delivery = await actions.block(emulator, channel, user_id)
        elif action == "unblock":
            friend, delivery = await actions.unblock(emulator, channel, user_id)
        elif action == "message":
            text = body.get("text")
            if not isinstance(text, str) or not text:
                raise LineError(400, 'Give the text: {"text": "..."}')
            friend, delivery = await actions.send_text(emulator, channel, user_id, text)
        elif action == "postback":
            data = body.get("data")
            if not isinstance(data, str):
                raise LineError(400, 'Give the data: {"data": "...", "params": {...}}')
            friend, delivery = await actions.postback(
                emulator, channel, user_id, data, body.get("params")
            )
        elif action == "open-link":
            url = body.get("url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise LineError(400, 'Give an http(s) URL: {"url": "...", "request_id": "..."}')
            result = await actions.open_link(
                emulator, channel, user_id, url, body.get("request_id")
            )
            return JSONResponse(result)
        else:
            raise LineError(404, f"Unknown action {action}")
    except actions.UnknownFriendError:
        raise LineError(404, f"No friend {user_id}") from None
    return JSONResponse({"friend": friend_json(friend), "webhook": webhook_json(delivery)})


async def deliveries(request: Request) -> Response:
    """How many copies each friend received: a histogram {copies: friends} plus totals, for
    ?request_id= (one request) or ?endpoint= (all of one endpoint) or everything.
    Add ?per_user=1 for {user_id: copies} of friends with at least one copy."""
    emulator, channel = _channel(request)
    request_id = request.query_params.get("request_id")
    endpoint = request.query_params.get("endpoint")
    counts: Counter[str] = Counter()
    if request_id is not None:
        record = emulator.requests.get(request_id)
        if record is not None and record.channel_id == channel.channel_id:
            counts.update(record.recipients)
    else:
        for friend in channel.friends.values():
            if endpoint is None:
                n = len(friend.received)
            else:
                n = sum(1 for r in friend.received if r.endpoint == endpoint)
            if n:
                counts[friend.user_id] = n
    histogram = Counter(counts.values())
    if len(channel.friends) > len(counts):
        histogram[0] = len(channel.friends) - len(counts)
    body: dict[str, Any] = {
        "friends": len(channel.friends),
        "recipients": len(counts),
        "deliveries": sum(counts.values()),
        "histogram": {str(k): v for k, v in sorted(histogram.items())},
    }
    if request.query_params.get("per_user"):
        body["per_user"] = dict(counts)
    return JSONResponse(body)


async def request_detail(request: Request) -> Response:
    emulator, channel = _channel(request)
    record = emulator.requests.get(request.path_params["request_id"])
    if record is None or record.channel_id != channel.channel_id:
        raise LineError(404, "Not found")
    return JSONResponse(record_json(record, with_recipients=True))


async def webhooks(request: Request) -> Response:
    _, channel = _channel(request)
    return JSONResponse({"deliveries": [webhook_json(d) for d in channel.webhook_deliveries]})


def _delivery(channel: Channel, delivery_id: str) -> WebhookDelivery:
    for delivery in channel.webhook_deliveries:
        if delivery.delivery_id == delivery_id:
            return delivery
    raise LineError(404, f"No webhook delivery {delivery_id}")


async def redeliver(request: Request) -> Response:
    """Send a delivery's events again: same webhookEventId and replyToken, isRedelivery true."""
    emulator, channel = _channel(request)
    delivery = _delivery(channel, request.path_params["delivery_id"])
    await webhook_sender(emulator).attempt(channel, delivery, is_redelivery=True)
    return JSONResponse(webhook_json(delivery))


async def clicks(request: Request) -> Response:
    _, channel = _channel(request)
    return JSONResponse({"clicks": [click_json(c) for c in channel.clicks]})


routes: list[BaseRoute] = [
    Route(f"{PREFIX}/friends", friends, methods=["GET", "POST"]),
    Route(f"{PREFIX}/friends/{{user_id}}", friend_detail, methods=["GET"]),
    Route(f"{PREFIX}/friends/{{user_id}}/messages", friend_messages, methods=["GET"]),
    Route(f"{PREFIX}/friends/{{user_id}}/{{action}}", friend_action, methods=["POST"]),
    Route(f"{PREFIX}/deliveries", deliveries, methods=["GET"]),
    Route(f"{PREFIX}/requests/{{request_id}}", request_detail, methods=["GET"]),
    Route(f"{PREFIX}/webhooks", webhooks, methods=["GET"]),
    Route(f"{PREFIX}/webhooks/{{delivery_id}}/redeliver", redeliver, methods=["POST"]),
    Route(f"{PREFIX}/clicks", clicks, methods=["GET"]),
]
