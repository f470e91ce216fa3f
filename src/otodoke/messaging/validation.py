"""Validate 1–5 LINE message objects before anything is sent.

Two layers: line-bot-sdk's pydantic models (shape, required fields, types) and LINE's own
limits from the Messaging API reference (lengths in UTF-16 code units, list sizes, Flex sizes),
which the SDK models do not enforce. Every problem names the message index, the field and the
limit, e.g. ``messages[0].text: 5,012 characters (UTF-16) — LINE allows 5,000``.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

MAX_MESSAGES = 5
TEXT_MAX = 5000
ALT_TEXT_MAX = 1500
URL_MAX = 2000
FLEX_BUBBLE_BYTES = 30 * 1024
FLEX_CAROUSEL_BYTES = 50 * 1024
FLEX_CAROUSEL_BUBBLES = 12
QUICK_REPLY_ITEMS = 13

# Per action type: field -> maximum length (LINE's action object reference).
ACTION_LIMITS: dict[str, dict[str, int]] = {
    "postback": {"data": 300, "displayText": 300, "text": 300, "fillInText": 300},
    "message": {"text": 300},
    "uri": {"uri": 1000},
    "datetimepicker": {"data": 300},
    "clipboard": {"clipboardText": 1000},
    "richmenuswitch": {"richMenuAliasId": 32, "data": 300},
}


@dataclass(frozen=True)
class MessageProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class MessageValidationError(ValueError):
    """The message objects LINE would reject; `problems` lists each with its field path."""

    def __init__(self, problems: list[MessageProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def utf16_len(text: str) -> int:
    """LINE counts characters in UTF-16 code units: 🍎 counts as 2."""
    return len(text.encode("utf-16-le")) // 2


def _too_long(length: int, limit: int, *, utf16: bool = True) -> str:
    unit = _("characters (UTF-16)") if utf16 else _("characters")
    return _("%(length)s %(unit)s — LINE allows %(limit)s") % {
        "length": f"{length:,}",
        "unit": unit,
        "limit": f"{limit:,}",
    }


class _Checker:
    def __init__(self) -> None:
        self.problems: list[MessageProblem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(MessageProblem(path, message))

    def text(self, obj: dict[str, Any], key: str, path: str, limit: int) -> None:
        value = obj.get(key)
        if isinstance(value, str) and utf16_len(value) > limit:
            self.add(f"{path}.{key}", _too_long(utf16_len(value), limit))

    def url(self, obj: dict[str, Any], key: str, path: str, limit: int = URL_MAX) -> None:
        """A media or icon URL: LINE fetches it itself and only over HTTPS."""
        self.text(obj, key, path, limit)
        value = obj.get(key)
        # A placeholder may render to an https URL; the render is checked again before sending.
        if isinstance(value, str) and not value.startswith("https://") and "{{" not in value:
            self.add(f"{path}.{key}", _("not an HTTPS URL — LINE accepts only https://"))

    def items(self, obj: dict[str, Any], key: str, path: str, limit: int) -> list[Any]:
        value = obj.get(key)
        if not isinstance(value, list):
            return []
        if len(value) > limit:
            self.add(
                f"{path}.{key}",
                _("%(count)s items — LINE allows %(limit)s")
                % {"count": len(value), "limit": limit},
            )
        return value

    def action(self, action: Any, path: str, *, label_max: int | None) -> None:
        if not isinstance(action, dict):
            return
        for key, limit in ACTION_LIMITS.get(str(action.get("type")), {}).items():
            self.text(action, key, path, limit)
        if label_max is not None:
            self.text(action, "label", path, label_max)


def _check_template(c: _Checker, template: dict[str, Any], path: str) -> None:
    kind = template.get("type")
    if kind == "buttons":
        has_header = bool(template.get("thumbnailImageUrl") or template.get("title"))
        c.url(template, "thumbnailImageUrl", path)
        c.text(template, "title", path, 40)
        c.text(template, "text", path, 60 if has_header else 160)
        for i, action in enumerate(c.items(template, "actions", path, 4)):
            c.action(action, f"{path}.actions[{i}]", label_max=20)
    elif kind == "confirm":
        c.text(template, "text", path, 240)
        actions = template.get("actions")
        if isinstance(actions, list) and len(actions) < 2:
            c.add(
                f"{path}.actions",
                _("%(count)s items — LINE requires exactly 2") % {"count": len(actions)},
            )
        for i, action in enumerate(c.items(template, "actions", path, 2)):
            c.action(action, f"{path}.actions[{i}]", label_max=20)
    elif kind in ("carousel", "image_carousel"):
        for i, column in enumerate(c.items(template, "columns", path, 10)):
            if not isinstance(column, dict):
                continue
            cpath = f"{path}.columns[{i}]"
            if kind == "carousel":
                has_header = bool(column.get("thumbnailImageUrl") or column.get("title"))
                c.url(column, "thumbnailImageUrl", cpath)
                c.text(column, "title", cpath, 40)
                c.text(column, "text", cpath, 60 if has_header else 120)
                for j, action in enumerate(c.items(column, "actions", cpath, 3)):
                    c.action(action, f"{cpath}.actions[{j}]", label_max=20)
            else:
                c.url(column, "imageUrl", cpath)
                c.action(column.get("action"), f"{cpath}.action", label_max=12)


def _check_flex(c: _Checker, contents: dict[str, Any], path: str) -> None:
    size = len(json.dumps(contents, ensure_ascii=False, separators=(",", ":")).encode())
    if contents.get("type") == "carousel":
        c.items(contents, "contents", path, FLEX_CAROUSEL_BUBBLES)
        limit = FLEX_CAROUSEL_BYTES
    else:
        limit = FLEX_BUBBLE_BYTES
    if size > limit:
        c.add(
            path,
            _("%(size)s bytes of JSON — LINE allows %(limit)s")
            % {"size": f"{size:,}", "limit": f"{limit:,}"},
        )


# LINE's URI action: "The available schemes are http, https, line, and tel" (the same for an
# imagemap's linkUri). Anything else (javascript:, file:, data:…) is refused before saving.
URI_SCHEMES = ("http", "https", "line", "tel")


def _walk(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")


def _check_uri_actions(c: _Checker, message: dict[str, Any], path: str) -> None:
    """Every URI action anywhere in a message (templates, Flex, imagemaps, quick replies)."""
    for apath, obj in _walk(message, path):
        if obj.get("type") != "uri":
            continue
        key = "linkUri" if "linkUri" in obj or "area" in obj else "uri"
        uris = [(f"{apath}.{key}", obj.get(key))]
        alt = obj.get("altUri")
        if isinstance(alt, dict) and "desktop" in alt:
            uris.append((f"{apath}.altUri.desktop", alt.get("desktop")))
        for upath, uri in uris:
            if not isinstance(uri, str) or not uri.strip():
                c.add(upath, _("required — LINE's URI action needs the address to open"))
            elif "{{" not in uri and uri.split(":", 1)[0].strip().lower() not in URI_SCHEMES:
                c.add(
                    upath,
                    _(
                        "the scheme is not allowed — LINE's URI action accepts only "
                        "http, https, line and tel"
                    ),
                )


def utf16_offsets(text: str) -> list[int]:
    """offsets[i] is the UTF-16 offset of text[i] (and offsets[len(text)] the length): LINE's
    `index` fields count UTF-16 code units, Python strings count code points."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + (2 if ord(char) > 0xFFFF else 1))
    return offsets


def emoji_positions(text: str, emojis: list[Any]) -> list[int | None]:
    """For each emoji, the position (in code points) of the `$` its UTF-16 `index` points at,
    or None when it points at anything else."""
    at = {offset: i for i, offset in enumerate(utf16_offsets(text)[:-1])}
    positions: list[int | None] = []
    for emoji in emojis:
        index = emoji.get("index") if isinstance(emoji, dict) else None
        position = at.get(index) if isinstance(index, int) and not isinstance(index, bool) else None
        positions.append(position if position is not None and text[position] == "$" else None)
    return positions


def _check_emoji_indexes(c: _Checker, message: dict[str, Any], path: str) -> None:
    """LINE: each emoji's `index` is the UTF-16 position of a `$` in `text`; else 400."""
    text, emojis = message.get("text"), message.get("emojis")
    if not isinstance(text, str) or not isinstance(emojis, list):
        return
    for i, position in enumerate(emoji_positions(text, emojis)):
        if position is None and isinstance(emojis[i], dict) and "index" in emojis[i]:
            c.add(
                f"{path}.emojis[{i}].index",
                _(
                    "does not point at a “$” in the text — LINE places each emoji at a $, "
                    "counting in UTF-16 units from 0"
                ),
            )


def substitution_keys(text: str) -> list[str]:
    """The `{key}` placeholders of a textV2 text, in order; `{{` and `}}` are literal braces
    (so an unrendered `{{ name }}` placeholder of Otodoke's is not one)."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in ("{{", "}}"):
            i += 2
        elif text[i] == "{":
            end = text.find("}", i + 1)
            if end < 0:
                break
            keys.append(text[i + 1 : end])
            i = end + 1
        else:
            i += 1
    return keys


def _check_substitutions(c: _Checker, message: dict[str, Any], path: str) -> None:
    """LINE: every `{key}` in a textV2 text needs an entry in `substitution`; else 400."""
    text = message.get("text")
    if not isinstance(text, str):
        return
    substitution = message.get("substitution")
    known = substitution if isinstance(substitution, dict) else {}
    for key in dict.fromkeys(substitution_keys(text)):
        if key not in known:
            c.add(
                f"{path}.text",
                _(
                    "the placeholder {%(key)s} has no entry in substitution — LINE needs one "
                    "for each {key} (write {{ and }} for literal braces)"
                )
                % {"key": key},
            )


def _check_limits(c: _Checker, message: dict[str, Any], path: str) -> None:
    _check_uri_actions(c, message, path)
    kind = message.get("type")
    if kind in ("text", "textV2"):
        c.text(message, "text", path, TEXT_MAX)
        c.items(message, "emojis", path, 20)
        if kind == "text":
            _check_emoji_indexes(c, message, path)
        else:
            _check_substitutions(c, message, path)
    elif kind in ("image", "video", "audio"):
        c.url(message, "originalContentUrl", path)
        c.url(message, "previewImageUrl", path)
        c.text(message, "trackingId", path, 100)
    elif kind == "location":
        c.text(message, "title", path, 100)
        c.text(message, "address", path, 100)
    elif kind == "imagemap":
        c.url(message, "baseUrl", path)
        c.text(message, "altText", path, ALT_TEXT_MAX)
        for i, action in enumerate(c.items(message, "actions", path, 50)):
            if isinstance(action, dict):
                apath = f"{path}.actions[{i}]"
                c.text(action, "linkUri", apath, 1000)
                c.text(action, "text", apath, 400)
                c.text(action, "clipboardText", apath, 1000)
                c.text(action, "label", apath, 100)
    elif kind in ("template", "flex"):
        c.text(message, "altText", path, ALT_TEXT_MAX)
        body = message.get("template" if kind == "template" else "contents")
        if isinstance(body, dict):
            check = _check_template if kind == "template" else _check_flex
            check(c, body, f"{path}.{'template' if kind == 'template' else 'contents'}")
    quick = message.get("quickReply")
    if isinstance(quick, dict):
        for i, item in enumerate(c.items(quick, "items", f"{path}.quickReply", QUICK_REPLY_ITEMS)):
            if not isinstance(item, dict):
                continue
            ipath = f"{path}.quickReply.items[{i}].action"
            if not isinstance(item.get("action"), dict):
                c.add(ipath, _("required — each LINE quick-reply button needs an action"))
            c.action(item.get("action"), ipath, label_max=20)
    sender = message.get("sender")
    if isinstance(sender, dict):
        c.text(sender, "name", f"{path}.sender", 20)
        c.url(sender, "iconUrl", f"{path}.sender")


_SDK_IMPORT = threading.Lock()


def _sdk_message_model() -> Any:
    """line-bot-sdk's Message model, imported on first use: it takes seconds to import, and
    workers that only send already-validated payloads never need it. The lock matters: two
    request threads importing the package at once made one of them see a half-initialised
    `linebot.v3` and fail with a 500 (seen when the composer's preview and the campaign page
    were the first requests of a new server process)."""
    with _SDK_IMPORT:
        from linebot.v3.messaging.models.message import Message

    return Message


def _check_shape(c: _Checker, message: Any, path: str) -> None:
    """line-bot-sdk's models: required fields, types and the `type` discriminator."""
    if not isinstance(message, dict):
        c.add(path, _("must be a JSON object"))
        return
    contents = message.get("contents")
    if message.get("type") == "flex" and isinstance(contents, dict):
        # The SDK reports a Flex error without its place in the tree (`layout`, not
        # `contents.body.layout`): check the message around a stand-in bubble, then each
        # Flex node on its own with its path.
        _sdk_errors(c, _sdk_message_model(), {**message, "contents": {"type": "bubble"}}, path)
        flex_shape_problems(c, contents, f"{path}.contents")
        return
    _sdk_errors(c, _sdk_message_model(), message, path, type_error=True)


def _sdk_errors(
    c: _Checker, model: Any, obj: dict[str, Any], path: str, *, type_error: bool = False
) -> None:
    try:
        model.from_dict(obj)
    except ValueError as exc:  # pydantic v1 ValidationError is a ValueError
        errors = getattr(exc, "errors", None)
        if callable(errors):
            for error in errors():
                field = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
                c.add(f"{path}.{field}" if field else path, str(error.get("msg", exc)))
        elif type_error:
            c.add(f"{path}.type", _("unknown message type %(type)r") % {"type": obj.get("type")})
        else:
            c.add(f"{path}.type", _("unknown Flex type %(type)r") % {"type": obj.get("type")})


# Flex nodes: the SDK model of each type and the keys holding nested nodes.
_FLEX_MODELS = {
    "bubble": "flex_bubble.FlexBubble",
    "carousel": "flex_carousel.FlexCarousel",
    "box": "flex_box.FlexBox",
    "button": "flex_button.FlexButton",
    "filler": "flex_filler.FlexFiller",
    "icon": "flex_icon.FlexIcon",
    "image": "flex_image.FlexImage",
    "separator": "flex_separator.FlexSeparator",
    "span": "flex_span.FlexSpan",
    "text": "flex_text.FlexText",
    "video": "flex_video.FlexVideo",
}
_FLEX_SLOTS = ("header", "hero", "body", "footer")


def flex_shape_problems(c: _Checker, node: Any, path: str) -> None:
    """Each Flex node checked by its own SDK model with its nested nodes taken out, so every
    problem carries its full path (``messages[0].contents.body.layout``)."""
    if not isinstance(node, dict):
        c.add(path, _("must be a JSON object"))
        return
    name = _FLEX_MODELS.get(str(node.get("type")))
    if name is None:
        c.add(f"{path}.type", _("unknown Flex type %(type)r") % {"type": node.get("type")})
        return
    module, cls = name.split(".")
    with _SDK_IMPORT:
        model = getattr(importlib.import_module(f"linebot.v3.messaging.models.{module}"), cls)
    shallow = dict(node)
    children: list[tuple[str, Any]] = []
    for key in _FLEX_SLOTS if node["type"] == "bubble" else ():
        if key in shallow:
            children.append((f"{path}.{key}", shallow.pop(key)))
    if node["type"] in ("box", "carousel", "text") and isinstance(node.get("contents"), list):
        children += [(f"{path}.contents[{i}]", child) for i, child in enumerate(node["contents"])]
        shallow["contents"] = []
    _sdk_errors(c, model, shallow, path)
    if node["type"] == "text" and not node.get("text") and not node.get("contents"):
        c.add(f"{path}.text", _("required — a Flex text needs text or contents (spans)"))
    for child_path, child in children:
        flex_shape_problems(c, child, child_path)


def message_problems(messages: Any) -> list[MessageProblem]:
    """Every problem LINE would reject these message objects for; empty when they are valid."""
    c = _Checker()
    if not isinstance(messages, list) or not messages:
        c.add("messages", _("give 1 to %(max)s message objects") % {"max": MAX_MESSAGES})
        return c.problems
    if len(messages) > MAX_MESSAGES:
        c.add(
            "messages",
            _("%(count)s message objects — LINE allows %(max)s")
            % {"count": len(messages), "max": MAX_MESSAGES},
        )
    for index, message in enumerate(messages):
        path = f"messages[{index}]"
        _check_shape(c, message, path)
        if isinstance(message, dict):
            _check_limits(c, message, path)
    return c.problems


def limit_problems(messages: list[dict[str, Any]]) -> list[MessageProblem]:
    """LINE's limits only, for renders of messages whose shape was already checked: rendering
    changes strings, never the structure, so only lengths and sizes can change."""
    c = _Checker()
    for index, message in enumerate(messages):
        _check_limits(c, message, f"messages[{index}]")
    return c.problems


def validate_messages(messages: Any) -> list[dict[str, Any]]:
    """Return the messages when LINE would accept them; raise `MessageValidationError`."""
    problems = message_problems(messages)
    if problems:
        raise MessageValidationError(problems)
    result: list[dict[str, Any]] = messages
    return result
