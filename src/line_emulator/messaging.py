"""Sending endpoints: reply, push, multicast, broadcast and the validate endpoints.

Every handler runs in the same order: auth, rate limit, retry-key header, body, 409 check,
validation, quota, delivery, key acceptance. There is no `await` after the body is read, so the
409 check, the delivery and the key acceptance happen in one step of the event loop and two
concurrent requests with one retry key can never both deliver.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from line_emulator.delivery import deliver
from line_emulator.http import (
    LineError,
    LineJSONResponse,
    accept_retry_key,
    authenticate,
    body_errors,
    check_rate_limit,
    check_retry_key,
    get_emulator,
    read_json_object,
    request_id,
    retry_key_of,
)
from line_emulator.insight import attach_units
from line_emulator.state import Emulator
from line_emulator.validation import validate_messages

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
PUSH_TARGET_RE = re.compile(r"^[UCR][0-9a-f]{32}$")
UNIT_RE = re.compile(r"^[a-zA-Z0-9_]{1,30}$")
MAX_MULTICAST = 500
VALIDATE_KINDS = frozenset({"reply", "push", "multicast", "narrowcast", "broadcast"})


def new_sent_messages(emulator: Emulator, count: int) -> list[dict[str, str]]:
    rng = emulator.random
    return [
        {"id": str(rng.randrange(10**17, 10**18)), "quoteToken": f"q{rng.getrandbits(160):040x}"}
        for _ in range(count)
    ]


def _messages(body: dict[str, Any], details: list[dict[str, str]]) -> list[dict[str, Any]]:
    details.extend(validate_messages(body.get("messages")))
    messages: list[dict[str, Any]] = body.get("messages") or []
    return messages


def _common_options(body: dict[str, Any], details: list[dict[str, str]]) -> bool:
    disabled = body.get("notificationDisabled", False)
    if not isinstance(disabled, bool):
        details.append({"message": "Must be a boolean", "property": "notificationDisabled"})
        return False
    return disabled


def _aggregation_units(body: dict[str, Any], details: list[dict[str, str]]) -> None:
    units = body.get("customAggregationUnits")
    if units is None:
        return
    if not isinstance(units, list) or len(units) > 1:
        details.append(
            {"message": "Size must be between 0 and 1", "property": "customAggregationUnits"}
        )
        return
    for index, unit in enumerate(units):
        if not isinstance(unit, str) or not UNIT_RE.match(unit):
            details.append(
                {
                    "message": "Must match the pattern ^[a-zA-Z0-9_]{1,30}$",
                    "property": f"customAggregationUnits[{index}]",
                }
            )


async def reply(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    check_rate_limit(emulator, channel, "reply")
    retry_key_of(request, supported=False)
    body = await read_json_object(request)
    details: list[dict[str, str]] = []
    token_value = body.get("replyToken")
    if not isinstance(token_value, str) or not token_value:
        details.append({"message": "May not be empty", "property": "replyToken"})
    messages = _messages(body, details)
    disabled = _common_options(body, details)
    if details:
        raise body_errors(details)
    assert isinstance(token_value, str)
    token = emulator.reply_tokens.get(token_value)
    now = emulator.now()
    if (
        token is None
        or token.used
        or token.channel_id != channel.channel_id
        or now > token.valid_until
    ):
        raise LineError(400, "Invalid reply token")
    token.used = True
    sent = new_sent_messages(emulator, len(messages))
    record = deliver(
        emulator,
        channel,
        endpoint="reply",
        request_id=request_id(request),
        user_ids=[token.user_id],
        messages=messages,
        notification_disabled=disabled,
    )
    record.sent_messages = sent
    return LineJSONResponse({"sentMessages": sent})


async def push(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    check_rate_limit(emulator, channel, "push")
    key = retry_key_of(request, supported=True)
    body = await read_json_object(request)
    check_retry_key(emulator, channel, key, include_sent_messages=True)
    details: list[dict[str, str]] = []
    to = body.get("to")
    if not isinstance(to, str) or not to:
        details.append({"message": "May not be empty", "property": "to"})
    messages = _messages(body, details)
    disabled = _common_options(body, details)
    _aggregation_units(body, details)
    if details:
        raise body_errors(details)
    assert isinstance(to, str)
    if not PUSH_TARGET_RE.match(to):
        raise LineError(400, "Failed to send messages")
    rid = request_id(request)
    sent = new_sent_messages(emulator, len(messages))
    record = deliver(
        emulator,
        channel,
        endpoint="push",
        request_id=rid,
        user_ids=[to],
        messages=messages,
        retry_key=key,
        notification_disabled=disabled,
    )
    record.sent_messages = sent
    attach_units(channel, record, body.get("customAggregationUnits"))
    accept_retry_key(emulator, channel, key, rid, sent)
    return LineJSONResponse({"sentMessages": sent})


def _multicast_targets(
    body: dict[str, Any], details: list[dict[str, str]], known: dict[str, Any]
) -> list[str]:
    to = body.get("to")
    if not isinstance(to, list) or not to:
        details.append({"message": "May not be empty", "property": "to"})
        return []
    if len(to) > MAX_MULTICAST:
        details.append({"message": f"Size must be between 1 and {MAX_MULTICAST}", "property": "to"})
        return []
    # Hot path: when every ID is a known friend's (well-formed already), one subset check in C
    # replaces a Python loop over up to 500 IDs; friends' keys are all str, so a subset of them
    # holds only str IDs. Anything else takes the loop below.
    try:
        named: set[Any] | None = set(to)
    except TypeError:  # an unhashable element (an object or array): the loop reports it
        named = None
    if named is not None and known.keys() >= named:
        return to
    for index, user_id in enumerate(to):
        # Friends' IDs are well-formed already; only unknown IDs need the pattern.
        if type(user_id) is str and user_id in known:
            continue
        if not isinstance(user_id, str) or not USER_ID_RE.match(user_id):
            # LINE answers a bad recipient with a top-level message, not a details list.
            raise LineError(400, f"The property, to[{index}], in the request body is invalid")
    return to


async def multicast(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    check_rate_limit(emulator, channel, "multicast")
    key = retry_key_of(request, supported=True)
    body = await read_json_object(request)
    check_retry_key(emulator, channel, key)
    details: list[dict[str, str]] = []
    targets = _multicast_targets(body, details, channel.friends)
    messages = _messages(body, details)
    disabled = _common_options(body, details)
    _aggregation_units(body, details)
    if details:
        raise body_errors(details)
    rid = request_id(request)
    record = deliver(
        emulator,
        channel,
        endpoint="multicast",
        request_id=rid,
        user_ids=targets,
        messages=messages,
        retry_key=key,
        notification_disabled=disabled,
    )
    attach_units(channel, record, body.get("customAggregationUnits"))
    accept_retry_key(emulator, channel, key, rid)
    return LineJSONResponse({})


async def broadcast(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    check_rate_limit(emulator, channel, "broadcast")
    key = retry_key_of(request, supported=True)
    body = await read_json_object(request)
    check_retry_key(emulator, channel, key)
    details: list[dict[str, str]] = []
    messages = _messages(body, details)
    disabled = _common_options(body, details)
    if details:
        raise body_errors(details)
    rid = request_id(request)
    followers = [f.user_id for f in channel.friends.values() if f.status == "following"]
    deliver(
        emulator,
        channel,
        endpoint="broadcast",
        request_id=rid,
        user_ids=followers,
        messages=messages,
        retry_key=key,
        notification_disabled=disabled,
    )
    accept_retry_key(emulator, channel, key, rid)
    return LineJSONResponse({})


async def validate(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    kind = request.path_params["kind"]
    if kind not in VALIDATE_KINDS:
        raise LineError(404, "Not found")
    check_rate_limit(emulator, channel, f"validate.{kind}")
    retry_key_of(request, supported=False)
    body = await read_json_object(request)
    details = validate_messages(body.get("messages"))
    if details:
        raise body_errors(details)
    return LineJSONResponse({})


routes: list[BaseRoute] = [
    Route("/v2/bot/message/reply", reply, methods=["POST"]),
    Route("/v2/bot/message/push", push, methods=["POST"]),
    Route("/v2/bot/message/multicast", multicast, methods=["POST"]),
    Route("/v2/bot/message/broadcast", broadcast, methods=["POST"]),
    Route(
        "/v2/bot/message/validate/{kind:str}",
        validate,
        methods=["POST"],
    ),
]
