"""Reject text no database can store before it reaches a service.

Bodies are read by `otodoke.core.jsontext` (no NaN/Infinity, bounded nesting). PostgreSQL
refuses NUL characters in text and JSON, and no UTF-8 database can store a lone
surrogate (JSON allows "\\ud800"). SQLite would store a NUL; rejecting it everywhere keeps
both databases answering the same (422 with the path), instead of a 500 on one of them.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.parser import Parser

from otodoke.api.errors import ApiError, format_path
from otodoke.core import jsontext


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
    _reject(list(islice(jsontext.unstorable_paths(data), 20)))


def check_request_text(request: HttpRequest) -> None:
    """Path and query parameters, and the fields of a form body (a JSON body is checked by
    `StrictJsonParser`)."""
    if jsontext.UNSTORABLE.search(request.path):
        _reject([("path",)])
    _reject([(k,) for k, v in request.GET.lists() if jsontext.UNSTORABLE.search(k + "".join(v))])
    if request.method == "POST" and request.content_type in {
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    }:
        # Reading the form parses the body; a malformed one raises MultiPartParserError,
        # which the API answers 400 (errors.install).
        fields = request.POST.lists()
        _reject([(k,) for k, v in fields if jsontext.UNSTORABLE.search(k + "".join(v))])


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            data = jsontext.loads(request.body)
        except jsontext.JsonTextError as exc:
            raise ApiError(
                400, _("The body is not valid JSON"), code="bad_request", details=[("", str(exc))]
            ) from exc
        check_stored_text(data)
        return data  # type: ignore[no-any-return]
