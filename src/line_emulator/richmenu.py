"""Rich menus: create, image upload, per-user and default links, bulk link and unlink.

State per channel in `channel.extensions["richmenus"]`. Bulk link/unlink answer 202 like LINE
but take effect at once, which is within LINE's "normally within seconds".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.http import (
    LineError,
    authenticate,
    body_errors,
    check_rate_limit,
    get_emulator,
    read_json_object,
    retry_key_of,
)
from line_emulator.state import Channel

MAX_MENUS = 1000
MAX_AREAS = 20
MAX_BULK_USERS = 500
MAX_IMAGE_BYTES = 1024 * 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
NO_IMAGE_MESSAGE = "must upload richmenu image before applying it to user"


@dataclass
class RichMenu:
    menu_id: str
    spec: dict[str, Any]
    image: bytes | None = None
    image_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"richMenuId": self.menu_id, **self.spec}


@dataclass
class RichMenuState:
    menus: dict[str, RichMenu] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # user ID -> rich menu ID
    default: str | None = None


def state(channel: Channel) -> RichMenuState:
    found = channel.extensions.get("richmenus")
    if not isinstance(found, RichMenuState):
        found = channel.extensions["richmenus"] = RichMenuState()
    return found


async def _authenticate(request: Request) -> Channel:
    """The channel; a retry key here is LINE's 400 (only send endpoints take one)."""
    channel = await authenticate(request)
    retry_key_of(request, supported=False)
    return channel


def menu_for(channel: Channel, user_id: str) -> RichMenu | None:
    """What the friend's chat shows: a per-user menu beats the default set via the API."""
    menus = state(channel)
    menu_id = switched(channel).get(user_id) or menus.links.get(user_id) or menus.default
    return menus.menus.get(menu_id) if menu_id else None


# ---------------------------------------------------------------- validation


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_menu(body: dict[str, Any]) -> list[dict[str, str]]:
    """LINE's rich-menu object rules: size, name, chat bar text and area bounds."""
    details: list[dict[str, str]] = []

    def bad(message: str, prop: str) -> None:
        details.append({"message": message, "property": prop})

    size = body.get("size")
    width = height = 0
    if not isinstance(size, dict) or not _int(size.get("width")) or not _int(size.get("height")):
        bad("May not be empty", "size")
    else:
        width, height = size["width"], size["height"]
        if not 800 <= width <= 2500:
            bad("Must be between 800 and 2500", "size.width")
        if height < 250:
            bad("Must be greater than or equal to 250", "size.height")
        if height and width / height < 1.45:
            bad("The aspect ratio (width / height) must be at least 1.45", "size")
    if not isinstance(body.get("selected"), bool):
        bad("May not be empty", "selected")
    for prop, limit in (("name", 300), ("chatBarText", 14)):
        value = body.get(prop)
        if not isinstance(value, str) or not value:
            bad("May not be empty", prop)
        elif len(value) > limit:
            bad(f"Length must be between 1 and {limit}", prop)
    areas = body.get("areas")
    if not isinstance(areas, list):
        bad("May not be empty", "areas")
        return details
    if len(areas) > MAX_AREAS:
        bad(f"Size must be between 0 and {MAX_AREAS}", "areas")
    for index, area in enumerate(areas):
        _validate_area(area, f"areas[{index}]", width, height, bad)
    return details


def _validate_area(area: Any, path: str, width: int, height: int, bad: Any) -> None:
    if not isinstance(area, dict):
        bad("May not be empty", path)
        return
    bounds = area.get("bounds")
    keys = ("x", "y", "width", "height")
    if not isinstance(bounds, dict) or any(not _int(bounds.get(k)) for k in keys):
        bad("May not be empty", f"{path}.bounds")
    elif bounds["x"] < 0 or bounds["y"] < 0 or bounds["width"] < 1 or bounds["height"] < 1:
        bad("Must be a positive area", f"{path}.bounds")
    elif width and (
        bounds["x"] + bounds["width"] > width or bounds["y"] + bounds["height"] > height
    ):
        bad("The area must be inside the rich menu", f"{path}.bounds")
    action = area.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        bad("May not be empty", f"{path}.action")


# ---------------------------------------------------------------- handlers


def _menu(channel: Channel, menu_id: str) -> RichMenu:
    menu = state(channel).menus.get(menu_id)
    if menu is None:
        raise LineError(404, "Not found")
    return menu


def _user_id(value: str) -> str:
    if not USER_ID_RE.match(value):
        raise LineError(400, "The value for the 'userId' parameter is invalid")
    return value


async def create(request: Request) -> Response:
    channel = await _authenticate(request)
    check_rate_limit(get_emulator(request), channel, "richmenu.create")
    body = await read_json_object(request)
    details = validate_menu(body)
    if details:
        raise body_errors(details)
    menus = state(channel)
    if len(menus.menus) >= MAX_MENUS:
        raise LineError(400, "The number of rich menus has reached the upper limit (1000)")
    menu_id = "richmenu-" + secrets.token_hex(16)
    keys = ("size", "selected", "name", "chatBarText", "areas")
    menus.menus[menu_id] = RichMenu(menu_id, {k: body[k] for k in keys})
    return JSONResponse({"richMenuId": menu_id})


async def validate(request: Request) -> Response:
    await _authenticate(request)
    details = validate_menu(await read_json_object(request))
    if details:
        raise body_errors(details)
    return JSONResponse({})


async def get_menu(request: Request) -> Response:
    channel = await _authenticate(request)
    return JSONResponse(_menu(channel, request.path_params["menu_id"]).to_json())


async def delete_menu(request: Request) -> Response:
    channel = await _authenticate(request)
    check_rate_limit(get_emulator(request), channel, "richmenu.delete")
    menu_id = request.path_params["menu_id"]
    _menu(channel, menu_id)
    menus = state(channel)
    del menus.menus[menu_id]
    menus.links = {u: m for u, m in menus.links.items() if m != menu_id}
    if menus.default == menu_id:
        menus.default = None
    return JSONResponse({})


async def list_menus(request: Request) -> Response:
    channel = await _authenticate(request)
    check_rate_limit(get_emulator(request), channel, "richmenu.list")
    return JSONResponse({"richmenus": [m.to_json() for m in state(channel).menus.values()]})


async def upload_image(request: Request) -> Response:
    channel = await _authenticate(request)
    menu = _menu(channel, request.path_params["menu_id"])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise LineError(415, f"The content type, {content_type}, is not supported")
    data = await request.body()
    if len(data) > MAX_IMAGE_BYTES:
        raise LineError(413, "Request Entity Too Large")
    if menu.image is not None:
        raise LineError(400, "An image has already been uploaded to the richmenu")
    size = _image_size(data)
    expected = (menu.spec["size"]["width"], menu.spec["size"]["height"])
    if size is None:
        raise LineError(400, "The image could not be read")
    if size != expected:
        raise LineError(400, "The image size must match the rich menu size")
    menu.image, menu.image_type = data, content_type
    return JSONResponse({})


def _image_size(data: bytes) -> tuple[int, int] | None:
    """The image's (width, height), None when it is no image Pillow can read."""
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


async def download_image(request: Request) -> Response:
    channel = await _authenticate(request)
    menu = _menu(channel, request.path_params["menu_id"])
    if menu.image is None:
        raise LineError(404, "Not found")
    return Response(menu.image, media_type=menu.image_type)


def _linkable(channel: Channel, menu_id: str) -> RichMenu:
    menu = _menu(channel, menu_id)
    if menu.image is None:
        raise LineError(400, NO_IMAGE_MESSAGE)
    return menu


async def set_default(request: Request) -> Response:
    channel = await _authenticate(request)
    state(channel).default = _linkable(channel, request.path_params["menu_id"]).menu_id
    return JSONResponse({})


async def get_default(request: Request) -> Response:
    channel = await _authenticate(request)
    default = state(channel).default
    if default is None:
        raise LineError(404, "no default richmenu")
    return JSONResponse({"richMenuId": default})


async def cancel_default(request: Request) -> Response:
    channel = await _authenticate(request)
    state(channel).default = None
    return JSONResponse({})


def _link(channel: Channel, user_id: str, menu_id: str) -> None:
    # Non-friends and blocked users are accepted and silently ignored, as on LINE.
    friend = channel.friends.get(user_id)
    if friend is not None and friend.following:
        state(channel).links[user_id] = menu_id
        switched(channel).pop(user_id, None)


def switched(channel: Channel) -> dict[str, str]:
    """user ID -> the menu a `richmenuswitch` tap showed on the phone (until the next link)."""
    found: dict[str, str] = channel.extensions.setdefault("richmenu_switched", {})
    return found


async def link_user(request: Request) -> Response:
    channel = await _authenticate(request)
    user_id = _user_id(request.path_params["user_id"])
    menu = _linkable(channel, request.path_params["menu_id"])
    _link(channel, user_id, menu.menu_id)
    return JSONResponse({})


async def unlink_user(request: Request) -> Response:
    channel = await _authenticate(request)
    user_id = _user_id(request.path_params["user_id"])
    state(channel).links.pop(user_id, None)
    switched(channel).pop(user_id, None)
    return JSONResponse({})


async def get_user_menu(request: Request) -> Response:
    channel = await _authenticate(request)
    menu_id = state(channel).links.get(_user_id(request.path_params["user_id"]))
    if menu_id is None:
        raise LineError(404, "the user has no richmenu")
    return JSONResponse({"richMenuId": menu_id})


def _bulk_users(body: dict[str, Any]) -> list[str]:
    users = body.get("userIds")
    if not isinstance(users, list) or not 1 <= len(users) <= MAX_BULK_USERS:
        raise body_errors(
            [{"message": f"Size must be between 1 and {MAX_BULK_USERS}", "property": "userIds"}]
        )
    bad = [
        {"message": "invalid user ID", "property": f"userIds[{i}]"}
        for i, u in enumerate(users)
        if not isinstance(u, str) or not USER_ID_RE.match(u)
    ]
    if bad:
        raise body_errors(bad)
    return users


async def bulk_link(request: Request) -> Response:
    channel = await _authenticate(request)
    body = await read_json_object(request)
    users = _bulk_users(body)
    menu_id = body.get("richMenuId")
    menu = _linkable(channel, menu_id if isinstance(menu_id, str) else "")
    for user_id in users:
        _link(channel, user_id, menu.menu_id)
    return JSONResponse({}, status_code=202)


async def bulk_unlink(request: Request) -> Response:
    channel = await _authenticate(request)
    users = _bulk_users(await read_json_object(request))
    links = state(channel).links
    for user_id in users:
        links.pop(user_id, None)
        switched(channel).pop(user_id, None)
    return JSONResponse({}, status_code=202)


_MENU = "/v2/bot/richmenu/{menu_id}"
routes: list[BaseRoute] = [
    Route("/v2/bot/richmenu", create, methods=["POST"]),
    Route("/v2/bot/richmenu/validate", validate, methods=["POST"]),
    Route("/v2/bot/richmenu/list", list_menus, methods=["GET"]),
    Route("/v2/bot/richmenu/bulk/link", bulk_link, methods=["POST"]),
    Route("/v2/bot/richmenu/bulk/unlink", bulk_unlink, methods=["POST"]),
    Route(f"{_MENU}/content", upload_image, methods=["POST"]),
    Route(f"{_MENU}/content", download_image, methods=["GET"]),
    Route(_MENU, get_menu, methods=["GET"]),
    Route(_MENU, delete_menu, methods=["DELETE"]),
    Route("/v2/bot/user/all/richmenu/{menu_id}", set_default, methods=["POST"]),
    Route("/v2/bot/user/all/richmenu", get_default, methods=["GET"]),
    Route("/v2/bot/user/all/richmenu", cancel_default, methods=["DELETE"]),
    Route("/v2/bot/user/{user_id}/richmenu/{menu_id}", link_user, methods=["POST"]),
    Route("/v2/bot/user/{user_id}/richmenu", unlink_user, methods=["DELETE"]),
    Route("/v2/bot/user/{user_id}/richmenu", get_user_menu, methods=["GET"]),
]
