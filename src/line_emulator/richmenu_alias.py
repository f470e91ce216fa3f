"""Rich-menu aliases (tabs): create, update, get, delete and list, with LINE's rules.

An alias ID matches ``^[a-z0-9_-]{1,32}$``, is unique per channel, at most 1,000 per channel,
and may only point to a menu of the same channel that has an image. A `richmenuswitch` action
names an alias; the phone page follows it (see `phone_richmenu`).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import richmenu
from line_emulator.http import (
    LineError,
    authenticate,
    body_errors,
    check_rate_limit,
    get_emulator,
    read_json_object,
)
from line_emulator.state import Channel

MAX_ALIASES = 1000
ALIAS_RE = re.compile(r"^[a-z0-9_-]{1,32}$")


def aliases(channel: Channel) -> dict[str, str]:
    """alias ID -> rich menu ID."""
    found: dict[str, str] = channel.extensions.setdefault("richmenu_aliases", {})
    return found


def menu_of_alias(channel: Channel, alias_id: str) -> richmenu.RichMenu | None:
    menu_id = aliases(channel).get(alias_id)
    return richmenu.state(channel).menus.get(menu_id) if menu_id else None


def _target(channel: Channel, body: dict[str, Any]) -> str:
    menu_id = body.get("richMenuId")
    if not isinstance(menu_id, str) or not menu_id:
        raise body_errors([{"message": "May not be empty", "property": "richMenuId"}])
    menu = richmenu.state(channel).menus.get(menu_id)
    if menu is None:
        raise LineError(400, "richmenu not found")
    if menu.image is None:
        raise LineError(400, "must upload richmenu image before applying it to alias")
    return menu_id


async def create(request: Request) -> Response:
    channel = await authenticate(request)
    body = await read_json_object(request)
    alias_id = body.get("richMenuAliasId")
    if not isinstance(alias_id, str) or not ALIAS_RE.match(alias_id):
        raise body_errors(
            [{"message": "must match ^[a-z0-9_-]{1,32}$", "property": "richMenuAliasId"}]
        )
    menu_id = _target(channel, body)
    found = aliases(channel)
    if alias_id in found:
        raise LineError(400, "conflict richmenu alias id")
    if len(found) >= MAX_ALIASES:
        raise LineError(400, "The number of rich menu aliases has reached the upper limit (1000)")
    found[alias_id] = menu_id
    return JSONResponse({})


def _existing(channel: Channel, alias_id: str) -> str:
    if alias_id not in aliases(channel):
        raise LineError(404, "richmenu alias not found")
    return alias_id


async def update(request: Request) -> Response:
    channel = await authenticate(request)
    alias_id = _existing(channel, request.path_params["alias_id"])
    aliases(channel)[alias_id] = _target(channel, await read_json_object(request))
    return JSONResponse({})


async def get_alias(request: Request) -> Response:
    channel = await authenticate(request)
    alias_id = _existing(channel, request.path_params["alias_id"])
    return JSONResponse({"richMenuAliasId": alias_id, "richMenuId": aliases(channel)[alias_id]})


async def delete(request: Request) -> Response:
    channel = await authenticate(request)
    check_rate_limit(get_emulator(request), channel, "richmenu.alias.delete")
    alias_id = _existing(channel, request.path_params["alias_id"])
    del aliases(channel)[alias_id]
    return JSONResponse({})


async def list_aliases(request: Request) -> Response:
    channel = await authenticate(request)
    return JSONResponse(
        {"aliases": [{"richMenuAliasId": a, "richMenuId": m} for a, m in aliases(channel).items()]}
    )


routes: list[BaseRoute] = [
    Route("/v2/bot/richmenu/alias", create, methods=["POST"]),
    Route("/v2/bot/richmenu/alias/list", list_aliases, methods=["GET"]),
    Route("/v2/bot/richmenu/alias/{alias_id}", update, methods=["POST"]),
    Route("/v2/bot/richmenu/alias/{alias_id}", get_alias, methods=["GET"]),
    Route("/v2/bot/richmenu/alias/{alias_id}", delete, methods=["DELETE"]),
]
