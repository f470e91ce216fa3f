"""Tracked links: find the URLs in message objects and rewrite them per recipient.

A tracked URL becomes `<PUBLIC_BASE_URL>/r/<token>`. The token names the link and the recipient
and is signed (HMAC with SECRET_KEY), so nobody can forge a click for someone else or point the
redirector anywhere: it only ever redirects to the `TrackedLink.url` stored for the campaign.
URLs containing template syntax are left as they are (they differ per recipient).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from otodoke.messaging.personalize import TEMPLATE_MARKERS

URL_RE = re.compile(r"https?://[^\s<>\"'{}|\\^`]+")
# Fields whose whole value is a link the user taps (actions and imagemap areas). Media URLs
# (images, videos) are fetched by LINE's servers and must never be rewritten.
LINK_FIELDS = frozenset({"uri", "linkUri", "desktop"})
TEXT_FIELDS = frozenset({"text"})
_SALT = "otodoke.messaging.links"
_SIG_CHARS = 22


def _walk_links(value: Any, key: str | None = None) -> Iterator[str]:
    if isinstance(value, str):
        if key in LINK_FIELDS and value.startswith(("http://", "https://")):
            yield value
        elif key in TEXT_FIELDS:
            yield from URL_RE.findall(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_links(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_links(v, key)


def find_links(messages: list[dict[str, Any]]) -> list[str]:
    """The distinct trackable URLs in the messages, in order of first appearance."""
    seen: dict[str, None] = {}
    for url in _walk_links(messages):
        if not any(marker in url for marker in TEMPLATE_MARKERS):
            seen.setdefault(url, None)
    return list(seen)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(body: str) -> str:
    import base64

    raw = salted_hmac(_SALT, body, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(raw).decode()[:_SIG_CHARS]


def click_token(link_id: int, contact_id: int) -> str:
    body = f"{_b36(link_id)}-{_b36(contact_id)}"
    return f"{body}-{_signature(body)}"


def parse_click_token(token: str) -> tuple[int, int] | None:
    """(link id, contact id) for a genuine token, None for anything else."""
    parts = token.split("-", 2)
    if len(parts) != 3 or len(token) > 80:
        return None
    link_part, contact_part, signature = parts
    if not constant_time_compare(signature, _signature(f"{link_part}-{contact_part}")):
        return None
    try:
        return int(link_part, 36), int(contact_part, 36)
    except ValueError:
        return None


def click_url(link_id: int, contact_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}/r/{click_token(link_id, contact_id)}"


def rewrite_links(value: Any, mapping: dict[str, str], key: str | None = None) -> Any:
    """A copy of `value` with every URL in `mapping` replaced by its tracked URL."""
    if isinstance(value, str):
        if key in LINK_FIELDS:
            return mapping.get(value, value)
        if key in TEXT_FIELDS:
            return URL_RE.sub(lambda m: mapping.get(m.group(0), m.group(0)), value)
        return value
    if isinstance(value, dict):
        return {k: rewrite_links(v, mapping, k) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite_links(v, mapping, key) for v in value]
    return value
