"""The rich menu on a friend's phone page: the menu LINE would show them (per-user link, else
the default set via the API), its image with a tappable button per area, and what a tap does.

A tap does what LINE's app does for the area's action: `postback` and `datetimepicker` post a
postback webhook (the picker answers with today's date, or noon), `message` sends the text as
the friend, `uri` opens the link through the click recorder, and `richmenuswitch` shows the
alias's menu and posts the postback with `params.newRichMenuAliasId` and `status`.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import actions, richmenu, richmenu_alias
from line_emulator.control_friends import channel_or_404
from line_emulator.http import LineError, get_emulator
from line_emulator.state import JST, Channel, Friend

STYLE = (
    ".richmenu{position:sticky;bottom:0;background:#fff;border-top:1px solid #ccc}"
    ".rm-board{position:relative}.rm-board img{width:100%;display:block}"
    ".rm-area{position:absolute;background:transparent;border:1px dashed #0006;margin:0;"
    "padding:0;cursor:pointer;font-size:11px;color:#0009;display:flex;align-items:end;"
    "justify-content:center;text-decoration:none}"
    ".rm-area:hover{background:#fff3}.rm-area form,.rm-area button{all:inherit;width:100%;"
    "height:100%;border:0;position:static}"
    ".rm-bar{text-align:center;padding:6px;font-size:13px;border-top:1px solid #eee}"
)


def _pct(value: int, whole: int) -> str:
    return f"{100 * value / whole:.3f}%"


def render(channel: Channel, friend: Friend) -> str:
    """The menu block for the phone page ("" when the friend sees no menu)."""
    menu = richmenu.menu_for(channel, friend.user_id) if friend.following else None
    if menu is None or menu.image is None:
        return ""
    width, height = menu.spec["size"]["width"], menu.spec["size"]["height"]
    base = f"/_emulator/phone/{channel.channel_id}/{friend.user_id}/richmenu"
    areas = []
    for index, area in enumerate(menu.spec.get("areas", [])):
        b = area["bounds"]
        position = (
            f"left:{_pct(b['x'], width)};top:{_pct(b['y'], height)};"
            f"width:{_pct(b['width'], width)};height:{_pct(b['height'], height)}"
        )
        action = area.get("action") or {}
        label = escape(str(action.get("label") or action.get("type", "")))
        testid = f'data-testid="richmenu-area-{index}"'
        if action.get("type") == "uri":
            query = urlencode({"c": channel.channel_id, "u": friend.user_id, "url": action["uri"]})
            areas.append(
                f'<a class="rm-area" {testid} style="{position}" '
                f'href="/_emulator/click?{escape(query)}" aria-label="{label}">{label}</a>'
            )
        else:
            areas.append(
                f'<form class="rm-area" style="{position}" method="post" '
                f'action="{escape(base)}/{menu.menu_id}/{index}">'
                f'<button {testid} aria-label="{label}">{label}</button></form>'
            )
    src = f"/_emulator/richmenu-image/{channel.channel_id}/{menu.menu_id}"
    return (
        f'<style>{STYLE}</style><div class="richmenu" data-testid="richmenu" '
        f'data-richmenu-id="{escape(menu.menu_id)}"><div class="rm-board">'
        f'<img src="{escape(src)}" alt="{escape(str(menu.spec.get("name", "")))}">'
        f'{"".join(areas)}</div><div class="rm-bar">{escape(str(menu.spec["chatBarText"]))} ▾'
        f"</div></div>"
    )


async def image(request: Request) -> Response:
    channel = channel_or_404(get_emulator(request), request.path_params["channel_id"])
    menu = richmenu.state(channel).menus.get(request.path_params["menu_id"])
    if menu is None or menu.image is None:
        raise LineError(404, "Not found")
    return Response(menu.image, media_type=menu.image_type)


def _picked(mode: str, now: Any) -> dict[str, str]:
    local = now.astimezone(JST)
    if mode == "time":
        return {"time": "12:00"}
    if mode == "datetime":
        return {"datetime": local.strftime("%Y-%m-%dT12:00")}
    return {"date": local.strftime("%Y-%m-%d")}


async def tap(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = channel_or_404(emulator, request.path_params["channel_id"])
    user_id = request.path_params["user_id"]
    friend = channel.friends.get(user_id)
    shown = richmenu.menu_for(channel, user_id) if friend is not None else None
    if shown is None or shown.menu_id != request.path_params["menu_id"]:
        raise LineError(404, "This rich menu is not shown to the friend")
    areas = shown.spec.get("areas", [])
    index = int(request.path_params["index"])
    if not 0 <= index < len(areas):
        raise LineError(404, "No such area")
    action = areas[index].get("action") or {}
    kind = action.get("type")
    data = str(action.get("data", ""))
    if kind == "postback":
        await actions.postback(emulator, channel, user_id, data)
    elif kind == "datetimepicker":
        params = _picked(str(action.get("mode", "date")), emulator.now())
        await actions.postback(emulator, channel, user_id, data, params)
    elif kind == "message":
        await actions.send_text(emulator, channel, user_id, str(action.get("text", "")))
    elif kind == "richmenuswitch":
        alias_id = str(action.get("richMenuAliasId", ""))
        target = richmenu_alias.menu_of_alias(channel, alias_id)
        status = "SUCCESS" if target is not None else "RICHMENU_ALIAS_ID_NOTFOUND"
        if target is not None:
            richmenu.switched(channel)[user_id] = target.menu_id
        params = {"newRichMenuAliasId": alias_id, "status": status}
        await actions.postback(emulator, channel, user_id, data, params)
    return RedirectResponse(f"/_emulator/phone/{channel.channel_id}/{user_id}", status_code=303)


routes: list[BaseRoute] = [
    Route("/_emulator/richmenu-image/{channel_id}/{menu_id}", image, methods=["GET"]),
    Route(
        "/_emulator/phone/{channel_id}/{user_id}/richmenu/{menu_id}/{index:int}",
        tap,
        methods=["POST"],
    ),
]
