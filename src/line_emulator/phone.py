"""Phone-like HTML views of each friend's chat, and the link-tap redirector.

Links in messages point at /_emulator/click, which records the tap (user, request, URL) and
redirects the browser on, so click-retargeting audiences see real taps.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import phone_richmenu
from line_emulator.actions import record_click
from line_emulator.control_friends import channel_or_404
from line_emulator.http import LineError, get_emulator
from line_emulator.phone_compose import compose_form
from line_emulator.state import JST, Friend, RequestRecord

STYLE = """
body{font-family:system-ui,'Hiragino Sans',sans-serif;background:#eee;margin:0}
.phone{max-width:420px;margin:0 auto;background:#8cabd9;min-height:100vh}
header{background:#273246;color:#fff;padding:12px 16px;font-weight:bold}
.msg{display:flex;flex-direction:column;align-items:flex-start;padding:6px 12px}
.meta{font-size:11px;color:#34445f}
.bubble{background:#fff;border-radius:16px;padding:8px 12px;max-width:80%;
  white-space:pre-wrap;word-break:break-word}
.card{background:#fff;border-radius:12px;overflow:hidden;max-width:85%;
  box-shadow:0 1px 2px #0003}
.card .inner{padding:8px 12px}.card img{width:100%;display:block}
.btn{display:block;text-align:center;padding:8px;border-top:1px solid #ddd;color:#1a73e8;
  text-decoration:none}
.sticker{font-size:40px}.muted{color:#888;font-size:12px}
.chips a,.chips span{display:inline-block;border:1px solid #fff;border-radius:14px;
  padding:2px 10px;margin:2px;color:#fff;text-decoration:none}
table{border-collapse:collapse;background:#fff}td,th{padding:4px 8px;border:1px solid #ccc}
.send{position:sticky;bottom:0;display:flex;gap:6px;padding:8px;background:#fff}
.send input{flex:1;padding:8px 12px;border:1px solid #ccc;border-radius:18px;font-size:16px}
.send button{border:0;background:#06c755;color:#fff;border-radius:18px;padding:0 14px}
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


class _Renderer:
    """Turns one friend's received messages into HTML; links go through the click recorder."""

    def __init__(self, channel_id: str, friend: Friend, record: RequestRecord) -> None:
        self.channel_id = channel_id
        self.friend = friend
        self.record = record

    def link(self, url: str) -> str:
        query = urlencode(
            {
                "c": self.channel_id,
                "u": self.friend.user_id,
                "r": self.record.request_id,
                "url": url,
            }
        )
        return f"/_emulator/click?{query}"

    def action(self, action: Any, css: str = "btn") -> str:
        if not isinstance(action, dict):
            return ""
        label = escape(str(action.get("label") or action.get("type", "")))
        kind = action.get("type")
        if kind == "uri" and isinstance(action.get("uri"), str):
            return f'<a class="{css}" href="{escape(self.link(action["uri"]))}">{label}</a>'
        hint = action.get("data") or action.get("text") or ""
        return f'<span class="{css}" title="{escape(str(hint))}">{label}</span>'

    def message(self, m: dict[str, Any]) -> str:
        kind = m.get("type")
        if kind in ("text", "textV2"):
            return f'<div class="bubble">{escape(str(m.get("text", "")))}</div>'
        if kind == "sticker":
            ids = f"{m.get('packageId')}/{m.get('stickerId')}"
            return f'<div class="sticker" title="sticker {escape(ids)}">🧸</div>'
        if kind == "image":
            src = escape(str(m.get("previewImageUrl", "")))
            return f'<div class="card"><img src="{src}" alt="image"></div>'
        if kind in ("video", "audio"):
            return f'<div class="bubble">▶ {kind}: {escape(str(m.get("originalContentUrl")))}</div>'
        if kind == "location":
            return (
                f'<div class="card"><div class="inner">📍 <b>{escape(str(m.get("title")))}</b>'
                f"<br>{escape(str(m.get('address')))}</div></div>"
            )
        if kind == "imagemap":
            links = "".join(
                self.action(
                    {"type": "uri", "uri": a["linkUri"], "label": a.get("label") or a["linkUri"]}
                )
                for a in m.get("actions", [])
                if isinstance(a, dict) and a.get("type") == "uri" and "linkUri" in a
            )
            alt = escape(str(m.get("altText")))
            # The phone shows the 700 px rendition LINE would fetch from {baseUrl}/{width}.
            src = escape(f"{m.get('baseUrl', '')}/700")
            image = f'<img src="{src}" alt="{alt}">' if m.get("baseUrl") else ""
            return f'<div class="card">{image}<div class="inner">{alt}</div>{links}</div>'
        if kind == "template":
            return self.template(m.get("template") or {})
        if kind == "flex":
            return self.flex(m.get("contents") or {})
        return f'<div class="bubble muted">[{escape(str(kind))}]</div>'

    def template(self, t: dict[str, Any]) -> str:
        columns = t.get("columns") if t.get("type") in ("carousel", "image_carousel") else [t]
        cards = []
        for column in columns or []:
            parts = []
            if column.get("thumbnailImageUrl") or column.get("imageUrl"):
                src = column.get("thumbnailImageUrl") or column.get("imageUrl")
                parts.append(f'<img src="{escape(str(src))}" alt="">')
            inner = ""
            if column.get("title"):
                inner += f"<b>{escape(str(column['title']))}</b><br>"
            if column.get("text"):
                inner += escape(str(column["text"]))
            if inner:
                parts.append(f'<div class="inner">{inner}</div>')
            actions = column.get("actions") or ([column["action"]] if "action" in column else [])
            parts.extend(self.action(a) for a in actions)
            cards.append(f'<div class="card">{"".join(parts)}</div>')
        return "".join(cards)

    def flex(self, node: dict[str, Any]) -> str:
        if node.get("type") == "carousel":
            return "".join(self.flex(b) for b in node.get("contents", []) if isinstance(b, dict))
        if node.get("type") == "bubble":
            parts = [
                self.flex_node(node[key])
                for key in ("header", "hero", "body", "footer")
                if isinstance(node.get(key), dict)
            ]
            return f'<div class="card">{"".join(parts)}</div>'
        return self.flex_node(node)

    def flex_node(self, node: dict[str, Any]) -> str:
        kind = node.get("type")
        html = ""
        if kind == "box":
            children = "".join(
                self.flex_node(c) for c in node.get("contents", []) if isinstance(c, dict)
            )
            html = f'<div class="inner">{children}</div>'
        elif kind == "text":
            spans = "".join(str(s.get("text", "")) for s in node.get("contents") or [])
            text = escape(str(node.get("text") or spans))
            html = (
                f"<div><b>{text}</b></div>"
                if node.get("weight") == "bold"
                else f"<div>{text}</div>"
            )
        elif kind in ("image", "icon"):
            html = f'<img src="{escape(str(node.get("url", "")))}" alt="">'
        elif kind == "button":
            return self.action(node.get("action"))
        elif kind == "separator":
            html = "<hr>"
        action = node.get("action")
        if isinstance(action, dict) and action.get("type") == "uri" and html:
            html = f'<a href="{escape(self.link(str(action.get("uri"))))}">{html}</a>'
        return html


def _chat(channel_id: str, friend: Friend) -> str:
    items = []
    for record in friend.received:
        renderer = _Renderer(channel_id, friend, record)
        when = record.time.astimezone(JST).strftime("%m/%d %H:%M")
        for message in record.messages:
            items.append(
                f'<div class="msg"><span class="meta">{escape(record.endpoint)} · {when}</span>'
                f"{renderer.message(message)}</div>"
            )
    if friend.received:
        last = friend.received[-1]
        quick = (last.messages[-1].get("quickReply") or {}).get("items", [])
        renderer = _Renderer(channel_id, friend, last)
        chips = "".join(
            renderer.action(i.get("action"), css="") for i in quick if isinstance(i, dict)
        )
        if chips:
            items.append(f'<div class="msg chips">{chips}</div>')
    return "".join(items) or '<p class="msg muted">No messages yet.</p>'


async def phone(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = channel_or_404(emulator, request.path_params["channel_id"])
    friend = channel.friends.get(request.path_params["user_id"])
    if friend is None:
        raise LineError(404, "No such friend")
    status = "" if friend.following else f" ({friend.status})"
    body = (
        f'<div class="phone"><header>{escape(friend.display_name)}{escape(status)}</header>'
        f"{_chat(channel.channel_id, friend)}"
        f"{compose_form(channel.channel_id, friend.user_id) if friend.following else ''}"
        f"{phone_richmenu.render(channel, friend)}</div>"
    )
    return _page(friend.display_name, body)


async def index(request: Request) -> Response:
    """Channels and (the first 200) friends of each, linking to their phones."""
    emulator = get_emulator(request)
    sections = []
    for channel in emulator.channels.values():
        rows = "".join(
            f'<tr><td><a href="/_emulator/phone/{escape(channel.channel_id)}/{f.user_id}">'
            f"{escape(f.display_name)}</a></td><td>{f.user_id}</td><td>{f.status}</td>"
            f"<td>{len(f.received)}</td></tr>"
            for f in list(channel.friends.values())[:200]
        )
        sections.append(
            f"<h2>Channel {escape(channel.channel_id)} ({len(channel.friends)} friends)</h2>"
            f"<table><tr><th>name</th><th>user ID</th><th>status</th><th>received</th></tr>"
            f"{rows}</table>"
        )
    return _page("LINE emulator", "<h1>LINE emulator</h1>" + "".join(sections))


async def click(request: Request) -> Response:
    """Record a tap on a link in a message, then send the browser to the link."""
    emulator = get_emulator(request)
    params = request.query_params
    url = params.get("url", "")
    if not url.startswith(("http://", "https://")):
        raise LineError(400, "url must be http(s)")
    channel = channel_or_404(emulator, params.get("c", ""))
    record_click(emulator, channel, params.get("u", ""), url, params.get("r"))
    return RedirectResponse(url, status_code=302)


routes: list[BaseRoute] = [
    Route("/_emulator", index, methods=["GET"]),
    Route("/_emulator/phone", index, methods=["GET"]),
    Route("/_emulator/phone/{channel_id}/{user_id}", phone, methods=["GET"]),
    Route("/_emulator/click", click, methods=["GET"]),
]
