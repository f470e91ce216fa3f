"""One JSON error shape for every failure the API can answer.

    {"error": {"code": "validation_error", "message": "…",
               "details": [{"path": "contacts[3].phone", "message": "…"}]}}

`code` is stable and machine-readable; `message` is for humans (translated); `path` points into
the request (body fields as `a.b[2].c`, query and path parameters by name). Validation never
answers 500: a 500 means a bug, is logged with its traceback and says nothing more.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import pydantic
from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger(__name__)


class ErrorDetail(Schema):
    path: str
    message: str


class ErrorBody(Schema):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorOut(Schema):
    error: ErrorBody


# The error responses every authenticated operation may give; routers add these to their
# `response=` so the OpenAPI schema documents them (and schemathesis checks them).
COMMON_ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "validation_error",
    429: "rate_limited",
}


class ApiError(HttpError):
    """An error an endpoint answers on purpose, with a code and optional field details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(status, message)
        self.code = code or _CODES.get(status, "error")
        self.details = list(details)


class RateLimitError(ApiError):
    def __init__(self, wait_seconds: float) -> None:
        super().__init__(429, _("Too many requests for this token; retry later"))
        self.retry_after = max(1, math.ceil(wait_seconds))


def format_path(loc: Iterable[Any]) -> str:
    """("contacts", 3, "phone") → "contacts[3].phone"."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def error_response(
    status: int, code: str, message: str, details: Sequence[tuple[str, str]] = ()
) -> JsonResponse:
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": [{"path": p, "message": m} for p, m in details],
        }
    }
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def _request_path(loc: Sequence[Any]) -> str:
    # Ninja prefixes the source and, for a body, the parameter name: ("body", "payload", "x").
    # Clients only know their JSON, so paths start inside it.
    if loc and loc[0] == "body":
        return format_path(loc[2:])
    # Multipart fields arrive as ("form", "name") and ("file", "file"): the field name is the path.
    sources = {"query", "path", "header", "form", "file"}
    return format_path(loc[1:] if loc and loc[0] in sources else loc)


def _on_ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    details = [(_request_path(e.get("loc", ())), str(e.get("msg", ""))) for e in exc.errors]
    return error_response(422, "validation_error", _("The request is not valid"), details)


def _on_pydantic_validation(request: HttpRequest, exc: pydantic.ValidationError) -> HttpResponse:
    details = [(format_path(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
    return error_response(422, "validation_error", _("The request is not valid"), details)


def _on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        details = [(f, m) for f, msgs in exc.message_dict.items() for m in msgs]
    else:
        details = [("", m) for m in exc.messages]
    return error_response(422, "validation_error", _("The request is not valid"), details)


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # Ninja wraps any error of the body parser in a plain 400; ours carries the real answer.
    if not isinstance(exc, ApiError) and isinstance(exc.__cause__, ApiError):
        exc = exc.__cause__
    if isinstance(exc, ApiError):
        response = error_response(exc.status_code, exc.code, exc.message, exc.details)
        if isinstance(exc, RateLimitError):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, AuthenticationError):
        message = _("A valid API token is required (Authorization: Bearer otd_…)")
        return error_response(401, "not_authenticated", message)
    code = _CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc))


def _on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(404, "not_found", _("Not found"))


def _on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(403, "forbidden", str(exc) or _("Not allowed"))


def _on_too_large(request: HttpRequest, exc: Exception) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = _("The request body is larger than %(size)s bytes") % {"size": f"{limit:,}"}
    return error_response(413, "too_large", message)


def _on_too_many_parts(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(413, "too_large", _("The request has too many fields or files"))


def _on_bad_multipart(request: HttpRequest, exc: Exception) -> HttpResponse:
    # Django's parser says what is wrong ("Invalid boundary in multipart: None").
    message = _("The multipart body cannot be read: %(problem)s") % {"problem": exc}
    return error_response(400, "bad_request", message)


def _on_suspicious(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("Suspicious API request on %s: %s", request.path, exc)
    return error_response(400, "bad_request", _("The request cannot be read"))


def _on_bug(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal_error", _("Something went wrong on our side"))


def install(api: NinjaAPI) -> None:
    """Replace ninja's handlers (which answer {"detail": …} or re-raise) with ours."""
    handlers: list[tuple[type[Exception], Callable[[HttpRequest, Any], HttpResponse]]] = [
        (NinjaValidationError, _on_ninja_validation),
        (pydantic.ValidationError, _on_pydantic_validation),
        (DjangoValidationError, _on_django_validation),
        (HttpError, _on_http_error),
        (Http404, _on_not_found),
        (ObjectDoesNotExist, _on_not_found),
        (PermissionDenied, _on_permission_denied),
        # Django raises these while reading the body, before ninja's parser sees it.
        (RequestDataTooBig, _on_too_large),
        (TooManyFieldsSent, _on_too_many_parts),
        (TooManyFilesSent, _on_too_many_parts),
        (MultiPartParserError, _on_bad_multipart),
        (SuspiciousOperation, _on_suspicious),
        (Exception, _on_bug),
    ]
    for exc_class, handler in handlers:
        # ninja types handlers as taking an exception *or its class*; ours get instances.
        api.add_exception_handler(exc_class, cast(Any, handler))


def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Unknown URLs under /api/v1/ answer JSON too, not the HTML 404 page."""
    return error_response(404, "not_found", _("No such API endpoint"))
