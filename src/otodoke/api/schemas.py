"""Schemas shared by several routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime

from otodoke.api.errors import ErrorDetail

# The most items one bulk request may carry. Larger batches belong in a CSV import; this keeps
# one request well under a few seconds and its transaction short.
MAX_BULK_ITEMS = 1000


def _as_utc(value: datetime) -> datetime:
    # Python accepts UTC offsets up to ±23:59 but PostgreSQL only ±15:59, so an offset such
    # as +17:49 reached the database and failed there (a 500 found by the schema fuzzer).
    # Normalising at the edge stores the same instant on every database.
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("date is out of range once converted to UTC") from exc


# Every date-time the API accepts: with an explicit offset, converted to UTC on the way in.
UtcDateTime = Annotated[AwareDatetime, AfterValidator(_as_utc)]


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
