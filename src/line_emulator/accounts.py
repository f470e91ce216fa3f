"""Profiles, follower IDs, link tokens and the account-link page LINE's app opens.

The account-link page (`/dialog/bot/accountLink`) stands in for access.line.me: opening it
with a valid token is the friend confirming the link, and the emulator then posts the signed
`accountLink` webhook. An expired or used token shows an error page and sends no webhook,
as LINE documents.
"""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.http import (
    LineError,
    authenticate,
    check_rate_limit,
    get_emulator,
    retry_key_of,
)
from line_emulator.state import Channel, Emulator, ReplyToken
from line_emulator.webhooks import REPLY_TOKEN_TTL, make_event, webhook_sender

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
FOLLOWERS_DEFAULT = 300
FOLLOWERS_MAX = 1000
CURSOR_TTL = timedelta(hours=24)
LINK_TOKEN_TTL = timedelta(minutes=10)
NONCE_LENGTH = (10, 255)


@dataclass
class Cursor:
    offset: int
    issued: datetime
    # The follower list as of the first page, shared by the whole chain of `next` tokens, so
    # paging through a million friends costs O(limit) per page instead of O(friends).
    ids: list[str]


@dataclass
class LinkToken:
    channel_id: str
    user_id: str
    expires: datetime
    used: bool = False


def _user_id(value: str) -> str:
    if not USER_ID_RE.match(value):
        raise LineError(400, "The value for the 'userId' parameter is invalid")
    return value


async def _authenticate(request: Request) -> Channel:
    """The channel; a retry key here is LINE's 400 (only send endpoints take one)."""
    channel = await authenticate(request)
    retry_key_of(request, supported=False)
    return channel


async def profile(request: Request) -> Response:
    channel = await _authenticate(request)
    check_rate_limit(get_emulator(request), channel, "profile")
    friend = channel.friends.get(_user_id(request.path_params["user_id"]))
    # Non-friends, blocked users and unknown IDs all look the same to the bot.
    if friend is None or not friend.following:
        raise LineError(404, "Not found")
    body: dict[str, Any] = {"displayName": friend.display_name, "userId": friend.user_id}
    if friend.picture_url:
        body["pictureUrl"] = friend.picture_url
    if friend.language:
        body["language"] = friend.language
    return JSONResponse(body)


# ---------------------------------------------------------------- follower IDs


def cursors(channel: Channel) -> dict[str, Cursor]:
    found = channel.extensions.get("follower_cursors")
    if not isinstance(found, dict):
        found = channel.extensions["follower_cursors"] = {}
    return found


def follower_page(
    emulator: Emulator, channel: Channel, limit: int, start: str | None
) -> dict[str, Any]:
    """One page of following friends' IDs; `next` works for 24 h of emulator time."""
    now = emulator.now()
    if start is None:
        # A new listing is a good moment to forget tokens that can no longer be used.
        live = {t: c for t, c in cursors(channel).items() if now - c.issued < CURSOR_TTL}
        channel.extensions["follower_cursors"] = live
        # Dicts keep insertion order, so friends are listed in the order they were added.
        ids = [uid for uid, friend in channel.friends.items() if friend.following]
        offset = 0
    else:
        cursor = cursors(channel).get(start)
        if cursor is None or now - cursor.issued >= CURSOR_TTL:
            raise LineError(
                400,
                "The request body has 1 error(s)",
                [{"message": "invalid continuation token", "property": "start"}],
            )
        ids, offset = cursor.ids, cursor.offset
    page = ids[offset : offset + limit]
    body: dict[str, Any] = {"userIds": page}
    if offset + len(page) < len(ids):
        token = secrets.token_urlsafe(24)
        cursors(channel)[token] = Cursor(offset + len(page), now, ids)
        body["next"] = token
    return body


async def follower_ids(request: Request) -> Response:
    channel = await _authenticate(request)
    emulator = get_emulator(request)
    check_rate_limit(emulator, channel, "followers")
    if not channel.config.verified:
        raise LineError(403, "Access to this API is not available for your account")
    raw = request.query_params.get("limit")
    limit = FOLLOWERS_DEFAULT
    if raw is not None:
        if not raw.isdigit() or not 1 <= int(raw) <= FOLLOWERS_MAX:
            raise LineError(
                400,
                "The request body has 1 error(s)",
                [{"message": f"Must be between 1 and {FOLLOWERS_MAX}", "property": "limit"}],
            )
        limit = int(raw)
    return JSONResponse(follower_page(emulator, channel, limit, request.query_params.get("start")))


# ---------------------------------------------------------------- account linking


def link_tokens(emulator: Emulator) -> dict[str, LinkToken]:
    """Across channels: the account-link page knows only the token, not the channel."""
    found = emulator.extensions.get("link_tokens")
    if not isinstance(found, dict):
        found = emulator.extensions["link_tokens"] = {}
    return found


async def issue_link_token(request: Request) -> Response:
    channel = await _authenticate(request)
    emulator = get_emulator(request)
    check_rate_limit(emulator, channel, "linkToken")
    user_id = _user_id(request.path_params["user_id"])
    friend = channel.friends.get(user_id)
    if friend is None or not friend.following:
        raise LineError(400, "The user is not a friend of the bot")
    token = secrets.token_urlsafe(24)
    link_tokens(emulator)[token] = LinkToken(
        channel.channel_id, user_id, emulator.now() + LINK_TOKEN_TTL
    )
    return JSONResponse({"linkToken": token})


def account_link_event(
    emulator: Emulator, channel: Channel, user_id: str, nonce: str, ok: bool
) -> dict[str, Any]:
    """An `accountLink` event; a failed one has no source and no reply token."""
    event = make_event(emulator, channel, user_id, "accountLink")
    event["link"] = {"result": "ok" if ok else "failed", "nonce": nonce}
    if not ok:
        del event["source"]
        return event
    now = emulator.now()
    token = secrets.token_hex(16)
    emulator.reply_tokens[token] = ReplyToken(
        channel.channel_id, user_id, now, now + REPLY_TOKEN_TTL
    )
    event["replyToken"] = token
    return event


def _page(title: str, text: str, status: int) -> HTMLResponse:
    body = (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)


async def account_link_page(request: Request) -> Response:
    """What happens when the friend's LINE app opens the link URL.

    `as` (emulator only) names the LINE user who opened it; another user than the token's
    owner gets LINE's `failed` result, like an impersonation attempt.
    """
    emulator = get_emulator(request)
    params = request.query_params
    nonce = params.get("nonce", "")
    if not NONCE_LENGTH[0] <= len(nonce) <= NONCE_LENGTH[1]:
        return _page("Error", "The nonce must be 10 to 255 characters.", 400)
    link = link_tokens(emulator).get(params.get("linkToken", ""))
    channel = emulator.channel_by_id(link.channel_id) if link is not None else None
    if link is None or channel is None or link.used or emulator.now() >= link.expires:
        return _page("Error", "This link has expired or was already used.", 400)
    link.used = True
    ok = params.get("as", link.user_id) == link.user_id
    event = account_link_event(emulator, channel, link.user_id, nonce, ok)
    # Awaited so a page load means the webhook has been attempted (tests can assert at once).
    await webhook_sender(emulator).send(channel, [event])
    if not ok:
        return _page("Error", "The account could not be linked.", 403)
    return _page("Linked", "Your LINE account has been linked.", 200)


routes: list[BaseRoute] = [
    Route("/v2/bot/profile/{user_id}", profile, methods=["GET"]),
    Route("/v2/bot/followers/ids", follower_ids, methods=["GET"]),
    Route("/v2/bot/user/{user_id}/linkToken", issue_link_token, methods=["POST"]),
    Route("/dialog/bot/accountLink", account_link_page, methods=["GET"]),
]
