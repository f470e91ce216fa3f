"""Message-object validation: line-bot-sdk's models plus LINE's documented limits.

LINE reports every problem as `{"message": ..., "property": "messages[0].text"}`; the walker
below checks the limits the SDK does not know and produces those property paths. The SDK then
catches type and shape errors it knows about. Results are cached by the messages' JSON because
a campaign sends the same messages in thousands of requests.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import orjson
from pydantic.v1 import ValidationError

from line_emulator.validation_rules import Details
from line_emulator.validation_types import check_message

MAX_MESSAGES = 5
_CACHE_SIZE = 4096
_cache: dict[bytes | str, list[dict[str, str]]] = {}
_KEY_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def validate_messages(messages: Any, prop: str = "messages") -> list[dict[str, str]]:
    """All problems with a `messages` array, as LINE's `details` entries (empty when valid)."""
    if not isinstance(messages, list):
        return [{"message": "May not be empty", "property": prop}]
    if not 1 <= len(messages) <= MAX_MESSAGES:
        return [{"message": f"Size must be between 1 and {MAX_MESSAGES}", "property": prop}]
    key = _cache_key(messages)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    details: Details = []
    for index, message in enumerate(messages):
        path = f"{prop}[{index}]"
        before = len(details)
        check_message(message, path, details)
        if len(details) == before:
            _check_with_sdk(message, path, details)
    if len(_cache) >= _CACHE_SIZE:
        _cache.clear()
    _cache[key] = details
    return details


def _cache_key(messages: list[Any]) -> bytes | str:
    """The messages' canonical JSON: orjson's bytes, or json's str for what orjson cannot write
    (ints over 64 bits, lone surrogates); bytes and str keys never compare equal."""
    try:
        return orjson.dumps(messages)
    except orjson.JSONEncodeError:
        return _KEY_ENCODER.encode(messages)


def load_sdk() -> None:
    """Import line-bot-sdk's models now, once per process.

    `linebot.v3` imports every API family at once, which takes seconds on a busy machine. Doing
    it when the app is built, not at module import or on the first request, keeps `--help` fast
    and keeps that delay out of any request a client is timing.
    """
    _sdk_message_class()


def _sdk_message_class() -> Any:
    return importlib.import_module("linebot.v3.messaging.models.message").Message


def _check_with_sdk(message: dict[str, Any], path: str, details: Details) -> None:
    try:
        _sdk_message_class().from_dict(message)
    except ValidationError as exc:
        for error in exc.errors():
            details.append({"message": _sdk_message(error), "property": _join(path, error["loc"])})
    except (ValueError, TypeError) as exc:
        details.append({"message": str(exc).split(". ", 1)[0], "property": path})


def _sdk_message(error: Any) -> str:
    kind = str(error.get("type", ""))
    if kind.startswith("type_error.none") or kind == "value_error.missing":
        return "May not be empty"
    return str(error.get("msg", "Invalid value"))


def _join(path: str, loc: Any) -> str:
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
