"""LINE's limits on message objects and actions, checked with LINE-style property paths."""

from __future__ import annotations

import json
from typing import Any

Details = list[dict[str, str]]

MESSAGE_TYPES = (
    "text", "textV2", "sticker", "image", "video", "audio",
    "location", "imagemap", "template", "flex", "coupon",
)  # fmt: skip
ACTION_TYPES = (
    "postback", "message", "uri", "datetimepicker", "camera",
    "cameraRoll", "location", "clipboard", "richmenuswitch",
)  # fmt: skip
QUICK_REPLY_ACTIONS = frozenset(ACTION_TYPES) - {"richmenuswitch"}
URI_SCHEMES = ("http://", "https://", "line://", "tel:")
FLEX_BUBBLE_BYTES = 30 * 1024
FLEX_CAROUSEL_BYTES = 50 * 1024


def utf16_len(text: str) -> int:
    """LINE counts text in UTF-16 code units: an emoji outside the BMP counts as 2."""
    return len(text.encode("utf-16-le")) // 2


def _add(details: Details, prop: str, message: str) -> None:
    details.append({"message": message, "property": prop})


def check_string(
    obj: dict[str, Any],
    key: str,
    path: str,
    details: Details,
    *,
    max_len: int,
    required: bool = True,
    utf16: bool = True,
) -> str | None:
    value = obj.get(key)
    prop = f"{path}.{key}"
    if value is None or value == "":
        if required:
            _add(details, prop, "May not be empty")
        return None
    if not isinstance(value, str):
        _add(details, prop, "Must be a string")
        return None
    # Labels and template titles count grapheme clusters; code points are a close stand-in.
    length = utf16_len(value) if utf16 else len(value)
    if length > max_len:
        _add(details, prop, f"Length must be between 0 and {max_len}")
    return value


def check_url(
    obj: dict[str, Any],
    key: str,
    path: str,
    details: Details,
    *,
    max_len: int = 2000,
    required: bool = True,
    https_only: bool = True,
) -> None:
    value = check_string(obj, key, path, details, max_len=max_len, required=required)
    if value is None:
        return
    if https_only and not value.startswith("https://"):
        _add(details, f"{path}.{key}", "Must be a URL with the https scheme")
    elif not https_only and not value.startswith(URI_SCHEMES):
        _add(details, f"{path}.{key}", "Must be a URL with a supported scheme")


def check_list(
    obj: dict[str, Any], key: str, path: str, details: Details, *, min_len: int, max_len: int
) -> list[Any]:
    value = obj.get(key)
    prop = f"{path}.{key}"
    if value is None:
        if min_len:
            _add(details, prop, "May not be empty")
        return []
    if not isinstance(value, list):
        _add(details, prop, "Must be an array")
        return []
    if not min_len <= len(value) <= max_len:
        _add(details, prop, f"Size must be between {min_len} and {max_len}")
    return value


def check_action(
    action: Any, path: str, details: Details, *, label_max: int, label_required: bool
) -> None:
    if not isinstance(action, dict):
        _add(details, path, "May not be empty")
        return
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        _add(details, f"{path}.type", f"Must be one of the following values: {list(ACTION_TYPES)}")
        return
    check_string(
        action, "label", path, details, max_len=label_max, required=label_required, utf16=False
    )
    if kind == "postback":
        check_string(action, "data", path, details, max_len=300)
        check_string(action, "displayText", path, details, max_len=300, required=False)
        check_string(action, "fillInText", path, details, max_len=300, required=False)
        option = action.get("inputOption")
        options = ("closeRichMenu", "openRichMenu", "openKeyboard", "openVoice")
        if option is not None and option not in options:
            _add(details, f"{path}.inputOption", f"Must be one of the following values: {options}")
    elif kind == "message":
        check_string(action, "text", path, details, max_len=300, utf16=False)
    elif kind == "uri":
        check_url(action, "uri", path, details, max_len=1000, https_only=False)
        alt = action.get("altUri")
        if isinstance(alt, dict):
            check_url(alt, "desktop", f"{path}.altUri", details, max_len=1000, https_only=False)
    elif kind == "datetimepicker":
        check_string(action, "data", path, details, max_len=300)
        if action.get("mode") not in ("date", "time", "datetime"):
            _add(
                details,
                f"{path}.mode",
                "Must be one of the following values: [date, time, datetime]",
            )
    elif kind == "clipboard":
        check_string(action, "clipboardText", path, details, max_len=1000)
    elif kind == "richmenuswitch":
        check_string(action, "richMenuAliasId", path, details, max_len=32)
        check_string(action, "data", path, details, max_len=300)


def check_common(message: dict[str, Any], path: str, details: Details) -> None:
    quick_reply = message.get("quickReply")
    if isinstance(quick_reply, dict):
        qr_path = f"{path}.quickReply"
        for index, item in enumerate(
            check_list(quick_reply, "items", qr_path, details, min_len=1, max_len=13)
        ):
            item_path = f"{qr_path}.items[{index}]"
            if not isinstance(item, dict) or item.get("type") != "action":
                _add(details, f"{item_path}.type", "Must be one of the following values: [action]")
                continue
            check_url(item, "imageUrl", item_path, details, required=False)
            action = item.get("action")
            if isinstance(action, dict) and action.get("type") not in QUICK_REPLY_ACTIONS:
                _add(details, f"{item_path}.action.type", "Not allowed in a quick reply")
                continue
            check_action(action, f"{item_path}.action", details, label_max=20, label_required=True)
    sender = message.get("sender")
    if isinstance(sender, dict):
        check_string(sender, "name", f"{path}.sender", details, max_len=20, required=False)
        check_url(sender, "iconUrl", f"{path}.sender", details, required=False)


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
