"""Reject text no database can store before it reaches a service.

PostgreSQL refuses NUL characters in text and JSON, and no UTF-8 database can store a lone
surrogate (JSON allows "\\ud800"). SQLite would store a NUL; rejecting it everywhere keeps
both databases answering the same (422 with the path), instead of a 500 on one of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.parser import Parser

from otodoke.api.errors import ApiError, format_path

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _bad_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                yield (*path, key)
            else:
                yield from _bad_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bad_paths(item, (*path, i))


def _reject(paths: list[tuple[str | int, ...]]) -> None:
    if paths:
        raise ApiError(
            422,
            _("The request contains characters that cannot be stored"),
            code="validation_error",
            details=[
                (format_path(p), _("NUL characters and lone surrogates are not allowed"))
                for p in paths[:20]
            ],
        )


def check_stored_text(data: Any) -> None:
    """Any parsed JSON (a request body, a file the CLI reads): ApiError 422 with the paths."""
    _reject(list(_bad_paths(data)))


def check_request_text(request: HttpRequest) -> None:
    """Path and query parameters (the body is checked by `StrictJsonParser`)."""
    if _UNSTORABLE.search(request.path):
        _reject([("path",)])
    _reject([(k,) for k, v in request.GET.lists() if _UNSTORABLE.search(k + "".join(v))])


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, _("The body is not valid JSON"), code="bad_request") from exc
        check_stored_text(data)
        return data  # type: ignore[no-any-return]
