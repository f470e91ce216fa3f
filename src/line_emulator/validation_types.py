"""Per-type checks of message objects (text, media, imagemap, template, flex)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from line_emulator.validation_rules import (
    FLEX_BUBBLE_BYTES,
    FLEX_CAROUSEL_BYTES,
    MESSAGE_TYPES,
    Details,
    check_action,
    check_common,
    check_list,
    check_string,
    check_url,
    json_size,
)


def check_message(message: Any, path: str, details: Details) -> None:
    if not isinstance(message, dict):
        details.append({"message": "May not be empty", "property": path})
        return
    kind = message.get("type")
    if kind not in MESSAGE_TYPES:
        details.append(
            {
                "message": f"Must be one of the following values: {list(MESSAGE_TYPES)}",
                "property": f"{path}.type",
            }
        )
        return
    check_common(message, path, details)
    CHECKERS[kind](message, path, details)


def _text(m: dict[str, Any], path: str, details: Details) -> None:
    text = check_string(m, "text", path, details, max_len=5000)
    emojis = check_list(m, "emojis", path, details, min_len=0, max_len=20)
    # LINE: each emoji's index is the UTF-16 position of a `$` in the text.
    dollars = set()
    units = 0
    for char in text or "":
        if char == "$":
            dollars.add(units)
        units += 2 if ord(char) > 0xFFFF else 1
    for index, emoji in enumerate(emojis):
        at = emoji.get("index") if isinstance(emoji, dict) else None
        if not isinstance(at, int) or isinstance(at, bool) or at not in dollars:
            details.append(
                {
                    "message": "The emoji index must point at a $ in the text",
                    "property": f"{path}.emojis[{index}].index",
                }
            )


def _text_v2(m: dict[str, Any], path: str, details: Details) -> None:
    text = check_string(m, "text", path, details, max_len=5000)
    substitution = m.get("substitution")
    if isinstance(substitution, dict) and len(substitution) > 100:
        details.append(
            {"message": "Size must be between 0 and 100", "property": f"{path}.substitution"}
        )
    known = substitution if isinstance(substitution, dict) else {}
    for key in _placeholders(text or ""):
        if key not in known:
            details.append(
                {
                    "message": f"The placeholder {{{key}}} has no substitution",
                    "property": f"{path}.text",
                }
            )
            break


def _placeholders(text: str) -> list[str]:
    """The `{key}` placeholders of a textV2 text; `{{` and `}}` are literal braces."""
    keys: list[str] = []
    i = 0
    while i < len(text):
        if text[i : i + 2] in ("{{", "}}"):
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


def _sticker(m: dict[str, Any], path: str, details: Details) -> None:
    for key in ("packageId", "stickerId"):
        check_string(m, key, path, details, max_len=100)


def _image(m: dict[str, Any], path: str, details: Details) -> None:
    check_url(m, "originalContentUrl", path, details)
    check_url(m, "previewImageUrl", path, details)


def _video(m: dict[str, Any], path: str, details: Details) -> None:
    _image(m, path, details)
    check_string(m, "trackingId", path, details, max_len=100, required=False)


def _audio(m: dict[str, Any], path: str, details: Details) -> None:
    check_url(m, "originalContentUrl", path, details)
    if not isinstance(m.get("duration"), int):
        details.append({"message": "May not be empty", "property": f"{path}.duration"})


def _location(m: dict[str, Any], path: str, details: Details) -> None:
    check_string(m, "title", path, details, max_len=100)
    check_string(m, "address", path, details, max_len=100)
    for key in ("latitude", "longitude"):
        if not isinstance(m.get(key), int | float):
            details.append({"message": "May not be empty", "property": f"{path}.{key}"})


def _imagemap(m: dict[str, Any], path: str, details: Details) -> None:
    check_url(m, "baseUrl", path, details)
    check_string(m, "altText", path, details, max_len=1500)
    for index, action in enumerate(check_list(m, "actions", path, details, min_len=1, max_len=50)):
        apath = f"{path}.actions[{index}]"
        if not isinstance(action, dict):
            details.append({"message": "May not be empty", "property": apath})
            continue
        check_string(action, "label", apath, details, max_len=100, required=False)
        kind = action.get("type")
        if kind == "uri":
            check_url(action, "linkUri", apath, details, max_len=1000, https_only=False)
        elif kind == "message":
            check_string(action, "text", apath, details, max_len=400)
        elif kind == "clipboard":
            check_string(action, "clipboardText", apath, details, max_len=1000)
        else:
            details.append(
                {
                    "message": "Must be one of the following values: [uri, message, clipboard]",
                    "property": f"{apath}.type",
                }
            )


def _actions(
    obj: dict[str, Any], path: str, details: Details, *, min_len: int, max_len: int
) -> None:
    for index, action in enumerate(
        check_list(obj, "actions", path, details, min_len=min_len, max_len=max_len)
    ):
        check_action(action, f"{path}.actions[{index}]", details, label_max=20, label_required=True)


def _template(m: dict[str, Any], path: str, details: Details) -> None:
    check_string(m, "altText", path, details, max_len=1500)
    template = m.get("template")
    tpath = f"{path}.template"
    if not isinstance(template, dict):
        details.append({"message": "May not be empty", "property": tpath})
        return
    kind = template.get("type")
    if kind == "buttons":
        check_url(template, "thumbnailImageUrl", tpath, details, required=False)
        check_string(template, "title", tpath, details, max_len=40, required=False, utf16=False)
        short = bool(template.get("thumbnailImageUrl") or template.get("title"))
        check_string(template, "text", tpath, details, max_len=60 if short else 160, utf16=False)
        _actions(template, tpath, details, min_len=1, max_len=4)
    elif kind == "confirm":
        check_string(template, "text", tpath, details, max_len=240, utf16=False)
        _actions(template, tpath, details, min_len=2, max_len=2)
    elif kind == "carousel":
        columns = check_list(template, "columns", tpath, details, min_len=1, max_len=10)
        for index, column in enumerate(columns):
            cpath = f"{tpath}.columns[{index}]"
            if not isinstance(column, dict):
                details.append({"message": "May not be empty", "property": cpath})
                continue
            check_url(column, "thumbnailImageUrl", cpath, details, required=False)
            check_string(column, "title", cpath, details, max_len=40, required=False, utf16=False)
            short = bool(column.get("thumbnailImageUrl") or column.get("title"))
            check_string(column, "text", cpath, details, max_len=60 if short else 120, utf16=False)
            _actions(column, cpath, details, min_len=1, max_len=3)
    elif kind == "image_carousel":
        columns = check_list(template, "columns", tpath, details, min_len=1, max_len=10)
        for index, column in enumerate(columns):
            cpath = f"{tpath}.columns[{index}]"
            if not isinstance(column, dict):
                details.append({"message": "May not be empty", "property": cpath})
                continue
            check_url(column, "imageUrl", cpath, details)
            check_action(
                column.get("action"), f"{cpath}.action", details, label_max=12, label_required=False
            )
    else:
        details.append(
            {
                "message": "Must be one of the following values: "
                "[buttons, confirm, carousel, image_carousel]",
                "property": f"{tpath}.type",
            }
        )


def _flex(m: dict[str, Any], path: str, details: Details) -> None:
    check_string(m, "altText", path, details, max_len=1500)
    contents = m.get("contents")
    cpath = f"{path}.contents"
    if not isinstance(contents, dict):
        details.append({"message": "May not be empty", "property": cpath})
        return
    kind = contents.get("type")
    if kind == "bubble":
        if json_size(contents) > FLEX_BUBBLE_BYTES:
            details.append({"message": "Size must be at most 30KB", "property": cpath})
        _flex_node(contents, cpath, details)
    elif kind == "carousel":
        bubbles = check_list(contents, "contents", cpath, details, min_len=1, max_len=12)
        if json_size(contents) > FLEX_CAROUSEL_BYTES:
            details.append({"message": "Size must be at most 50KB", "property": cpath})
        sizes = {b.get("size", "mega") for b in bubbles if isinstance(b, dict)}
        if len(sizes) > 1:
            details.append(
                {"message": "All bubbles must have the same size", "property": f"{cpath}.contents"}
            )
        for index, bubble in enumerate(bubbles):
            _flex_node(bubble, f"{cpath}.contents[{index}]", details)
    else:
        details.append(
            {
                "message": "Must be one of the following values: [bubble, carousel]",
                "property": f"{cpath}.type",
            }
        )


_FLEX_CHILDREN = ("header", "hero", "body", "footer")


def _flex_node(node: Any, path: str, details: Details) -> None:
    """Walk a bubble's blocks and components, checking actions, texts and image URLs."""
    if not isinstance(node, dict):
        details.append({"message": "May not be empty", "property": path})
        return
    kind = node.get("type")
    if kind == "bubble":
        for key in _FLEX_CHILDREN:
            if key in node:
                _flex_node(node[key], f"{path}.{key}", details)
    elif kind == "box":
        if node.get("layout") not in ("horizontal", "vertical", "baseline"):
            details.append(
                {
                    "message": "Must be one of the following values: "
                    "[horizontal, vertical, baseline]",
                    "property": f"{path}.layout",
                }
            )
        for index, child in enumerate(node.get("contents") or []):
            _flex_node(child, f"{path}.contents[{index}]", details)
    elif kind == "text":
        if not node.get("text") and not node.get("contents"):
            details.append({"message": "May not be empty", "property": f"{path}.text"})
    elif kind in ("image", "icon"):
        check_url(node, "url", path, details)
    elif kind == "button":
        check_action(
            node.get("action"), f"{path}.action", details, label_max=40, label_required=True
        )
        return
    if isinstance(node.get("action"), dict):
        check_action(node["action"], f"{path}.action", details, label_max=40, label_required=False)


def _coupon(m: dict[str, Any], path: str, details: Details) -> None:
    check_string(m, "couponId", path, details, max_len=100)
    check_string(m, "deliveryTag", path, details, max_len=30, required=False)


CHECKERS: dict[str, Callable[[dict[str, Any], str, Details], None]] = {
    "text": _text,
    "textV2": _text_v2,
    "sticker": _sticker,
    "image": _image,
    "video": _video,
    "audio": _audio,
    "location": _location,
    "imagemap": _imagemap,
    "template": _template,
    "flex": _flex,
    "coupon": _coupon,
}
