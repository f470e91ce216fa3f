"""Cursor pagination: stable under inserts and deletes, and O(page) at any depth.

A cursor is opaque to clients (base64url of a small JSON object holding the last primary key
seen); lists are ordered by primary key, so "the rows after that key" is an index range scan
instead of an ever-growing OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json

from django.db import models
from django.utils.translation import gettext as _

from otodoke.api.errors import ApiError

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def encode_cursor(last_pk: int) -> str:
    raw = json.dumps({"after": last_pk}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after = data["after"]
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise ValueError(after)
        return after
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(
            422,
            _("The cursor is not valid; use the next_cursor of a previous page"),
            code="validation_error",
            details=[("cursor", _("Not a cursor this API returned"))],
        ) from exc


def page[M: models.Model](
    queryset: models.QuerySet[M], *, cursor: str | None, limit: int
) -> tuple[list[M], str | None]:
    """One page of `queryset` after `cursor`, and the cursor of the next page (None at the end).
    Prefetches on `queryset` run for the page's rows only."""
    qs = queryset.order_by("pk")
    if cursor:
        qs = qs.filter(pk__gt=decode_cursor(cursor))
    # One extra row tells whether there is a next page without a COUNT.
    rows = list(qs[: limit + 1])
    next_cursor = encode_cursor(int(rows[limit - 1].pk)) if len(rows) > limit else None
    return rows[:limit], next_cursor
