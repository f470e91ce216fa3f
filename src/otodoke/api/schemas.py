"""Schemas shared by several routers."""

from __future__ import annotations

from typing import Literal

from ninja import Schema

from otodoke.api.errors import ErrorDetail

# The most items one bulk request may carry. Larger batches belong in a CSV import; this keeps
# one request well under a few seconds and its transaction short.
MAX_BULK_ITEMS = 1000


class ItemResult(Schema):
    """The outcome of one item of a bulk request, in request order."""

    index: int
    status: Literal["ok", "error"]
    # The contact (or event) the item landed on, when it did.
    id: int | None = None
    errors: list[ErrorDetail] = []


class BulkCounts(Schema):
    created: int
    updated: int
    unchanged: int
    failed: int


def item_results(
    count: int,
    errors: dict[int, list[ErrorDetail]],
    ids: dict[int, int] | None = None,
) -> list[ItemResult]:
    ids = ids or {}
    return [
        ItemResult(
            index=i,
            status="error" if errors.get(i) else "ok",
            id=ids.get(i),
            errors=errors.get(i, []),
        )
        for i in range(count)
    ]
