"""The click redirector: `/r/<token>` records who clicked which link, then redirects to the
URL the campaign holds. Nothing in the request can change where it redirects."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from otodoke.messaging.clicks import register_click


@never_cache
@require_GET
def redirect_click(request: HttpRequest, token: str) -> HttpResponse:
    url = register_click(token, user_agent=request.headers.get("user-agent", ""))
    if url is None:
        raise Http404
    return HttpResponseRedirect(url)
