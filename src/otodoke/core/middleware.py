"""Response headers Otodoke adds to everything it answers (static files excepted)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (with Django's never-cache set) on every page and API answer
    that does not say otherwise: they carry customers' names, phones and LINE IDs, which no
    browser cache, shared proxy or back button after logging out should keep. Static files are
    answered by WhiteNoise before this runs and keep their long cache lifetimes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
