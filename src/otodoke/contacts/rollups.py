"""Per-contact rollups recomputed set-based: one UPDATE with aggregate subqueries per batch.

See `Contact`'s docstring for how an imported POS baseline and events combine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.models import Case, Count, F, Max, Min, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Greatest, Least

from otodoke.contacts.models import KINDS_WITH_AMOUNT, Contact, Event, EventKind

BATCH = 2000


def _events(kinds: Iterable[str], *, after_baseline: bool = False) -> models.QuerySet[Event, Any]:
    qs = Event.objects.filter(contact=OuterRef("pk"), kind__in=list(kinds))
    if after_baseline:
        qs = qs.filter(occurred_at__gt=OuterRef("baseline_at"))
    # values("contact") + annotate = GROUP BY contact_id: one aggregate row (or none).
    return qs.order_by().values("contact")


def _agg(kinds: Iterable[str], aggregate: Any, *, after_baseline: bool = False) -> Subquery:
    return Subquery(
        _events(kinds, after_baseline=after_baseline).annotate(v=aggregate).values("v")[:1]
    )


def _least(*exprs: Any) -> Any:
    # SQLite's MIN(a, b) is NULL when any argument is; rotating COALESCEs makes every argument
    # non-NULL unless all are, so both databases ignore missing values alike.
    rotated = [Coalesce(*exprs[i:], *exprs[:i]) for i in range(len(exprs))]
    return Least(*rotated, output_field=models.DateTimeField())


def _greatest(*exprs: Any) -> Any:
    rotated = [Coalesce(*exprs[i:], *exprs[:i]) for i in range(len(exprs))]
    return Greatest(*rotated, output_field=models.DateTimeField())


def _count_with_baseline(baseline: str, kinds: Iterable[str], aggregate: Any) -> Case:
    kinds = list(kinds)
    zero = Value(0)
    return Case(
        When(
            **{f"{baseline}__isnull": True},
            then=Coalesce(_agg(kinds, aggregate), zero),
        ),
        default=F(baseline) + Coalesce(_agg(kinds, aggregate, after_baseline=True), zero),
    )


def rollup_expressions() -> dict[str, Any]:
    visit = [EventKind.VISIT.value]
    purchase = [EventKind.PURCHASE.value]
    return {
        "first_visit_at": _least(
            F("baseline_first_visit_at"),
            F("baseline_last_visit_at"),
            _agg(visit, Min("occurred_at")),
        ),
        "last_visit_at": _greatest(
            F("baseline_last_visit_at"),
            F("baseline_first_visit_at"),
            _agg(visit, Max("occurred_at")),
        ),
        "visit_count": _count_with_baseline("baseline_visit_count", visit, Count("id")),
        "purchase_count": _count_with_baseline("baseline_purchase_count", purchase, Count("id")),
        "total_spent": _count_with_baseline(
            "baseline_total_spent", sorted(KINDS_WITH_AMOUNT), Sum("amount")
        ),
        "last_purchase_at": _greatest(
            F("baseline_last_purchase_at"), _agg(purchase, Max("occurred_at"))
        ),
    }


def recompute_rollups(contact_ids: Iterable[int]) -> int:
    """Recompute the rollups of these contacts from their baseline and events; exact whatever
    happened before (inserts, corrections, moved or duplicate events)."""
    ids = sorted(set(contact_ids))
    updated = 0
    expressions = rollup_expressions()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        updated += Contact.objects.filter(pk__in=chunk).update(**expressions)
    return updated
