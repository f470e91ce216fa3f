"""One place decides whether a request gets a whole page or just a fragment (after netbox's
`utilities/htmx.py`). Fragments are Django template partials, so each has one template."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.middleware import HtmxDetails


def htmx_details(request: HttpRequest) -> HtmxDetails | None:
    details = getattr(request, "htmx", None)
    return details if isinstance(details, HtmxDetails) else None


def wants_partial(request: HttpRequest) -> bool:
    """An htmx request that swaps a fragment. Boosted links and history restores need the
    whole page, because htmx replaces the body with what it gets."""
    details = htmx_details(request)
    return (
        bool(details)
        and details is not None
        and not (details.boosted or details.history_restore_request)
    )


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render `template`, or only its `{% partialdef partial %}` for an htmx swap."""
    name = f"{template}#{partial}" if partial and wants_partial(request) else template
    response = render(request, name, context, status=status)
    # The same URL answers with two bodies; caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response
