"""Per-contact rollups recomputed set-based: one UPDATE with aggregate subqueries per batch.

See `Contact`'s docstring for how an imported POS baseline and events combine.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, models
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


# Contacts per statement: below SQLite's parameter limit, large enough that a million-contact
# import is a few hundred statements.
SQL_BATCH = 10_000


def col(model: type[models.Model], name: str) -> str:
    """The quoted database column of a concrete field."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column
    return connection.ops.quote_name(field.column)


def _rollup_sql(id_filter: str, event_filter: str = "") -> str:
    """One UPDATE for a batch of contacts: their events aggregated with a single GROUP BY over
    a join (each contact's events read once), instead of eight correlated subqueries per
    contact. Same results as `rollup_expressions` (a test compares both on every case).

    Only identifiers (from `_meta`, quoted) are formatted in; kinds and ids are parameters
    (`id_filter` is the caller's placeholder clause on ``c``, `event_filter` an optional
    extra join condition on ``e``)."""
    q = connection.ops.quote_name
    contact, event = q(Contact._meta.db_table), q(Event._meta.db_table)

    c_id, e_contact = col(Contact, "id"), col(Event, "contact")
    kind, at, amount = col(Event, "kind"), col(Event, "occurred_at"), col(Event, "amount")
    baseline_at = f"c.{col(Contact, 'baseline_at')}"
    after = f"e.{at} > {baseline_at}"
    visit, purchase = f"e.{kind} = %(visit)s", f"e.{kind} = %(purchase)s"
    money_kinds = ", ".join(f"%(money{n})s" for n in range(len(KINDS_WITH_AMOUNT)))
    money = f"e.{kind} IN ({money_kinds})"

    def b(name: str) -> str:
        return f"{contact}.{col(Contact, name)}"

    def least(*exprs: str, fn: str) -> str:
        # Rotating COALESCEs: NULLs are ignored alike by SQLite's MIN/MAX(a, b) (NULL when any
        # argument is) and PostgreSQL's LEAST/GREATEST.
        rotated = [f"COALESCE({', '.join(exprs[i:] + exprs[:i])})" for i in range(len(exprs))]
        return f"{fn}({', '.join(rotated)})"

    lo, hi = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")

    def counted(baseline: str, all_rows: str, after_rows: str) -> str:
        return (
            f"CASE WHEN {b(baseline)} IS NULL THEN COALESCE(agg.{all_rows}, 0) "
            f"ELSE {b(baseline)} + COALESCE(agg.{after_rows}, 0) END"
        )

    sets = {
        "first_visit_at": least(
            b("baseline_first_visit_at"), b("baseline_last_visit_at"), "agg.v_min", fn=lo
        ),
        "last_visit_at": least(
            b("baseline_last_visit_at"), b("baseline_first_visit_at"), "agg.v_max", fn=hi
        ),
        "visit_count": counted("baseline_visit_count", "v_n", "v_after"),
        "purchase_count": counted("baseline_purchase_count", "p_n", "p_after"),
        "total_spent": counted("baseline_total_spent", "s_all", "s_after"),
        "last_purchase_at": least(b("baseline_last_purchase_at"), "agg.p_max", fn=hi),
    }
    assignments = ", ".join(f"{col(Contact, name)} = {expr}" for name, expr in sets.items())
    return (
        f"UPDATE {contact} SET {assignments} FROM ("  # noqa: S608 - identifiers only, see doc
        f"SELECT c.{c_id} AS cid, "
        f"MIN(CASE WHEN {visit} THEN e.{at} END) AS v_min, "
        f"MAX(CASE WHEN {visit} THEN e.{at} END) AS v_max, "
        f"COUNT(CASE WHEN {visit} THEN 1 END) AS v_n, "
        f"COUNT(CASE WHEN {visit} AND {after} THEN 1 END) AS v_after, "
        f"COUNT(CASE WHEN {purchase} THEN 1 END) AS p_n, "
        f"COUNT(CASE WHEN {purchase} AND {after} THEN 1 END) AS p_after, "
        f"SUM(CASE WHEN {money} THEN e.{amount} END) AS s_all, "
        f"SUM(CASE WHEN {money} AND {after} THEN e.{amount} END) AS s_after, "
        f"MAX(CASE WHEN {purchase} THEN e.{at} END) AS p_max "
        f"FROM {contact} c LEFT JOIN {event} e ON e.{e_contact} = c.{c_id}{event_filter} "
        f"WHERE {id_filter} GROUP BY c.{c_id}"
        f") agg WHERE {contact}.{c_id} = agg.cid"
    )


def recompute_rollups(contact_ids: Iterable[int]) -> int:
    """Recompute the rollups of these contacts from their baseline and events; exact whatever
    happened before (inserts, corrections, moved or duplicate events)."""
    ids = sorted(set(contact_ids))
    updated = 0
    for start in range(0, len(ids), SQL_BATCH):
        updated += _recompute_batch(ids[start : start + SQL_BATCH])
    return updated


def _recompute_batch(ids: list[int]) -> int:
    c_id = col(Contact, "id")
    id_params: dict[str, Any]
    if connection.vendor == "postgresql":
        id_filter, id_params = f"c.{c_id} = ANY(%(ids)s)", {"ids": ids}
        # Redundant, but lets the planner read the batch's events by index even when its
        # statistics predate the rows this transaction inserted (an import's events).
        event_filter = f" AND e.{col(Event, 'contact')} = ANY(%(ids)s)"
    else:
        names = [f"i{n}" for n in range(len(ids))]
        id_filter = f"c.{c_id} IN ({', '.join(f'%({n})s' for n in names)})"
        id_params = dict(zip(names, ids, strict=True))
        event_filter = ""
    params: dict[str, Any] = {
        "visit": EventKind.VISIT.value,
        "purchase": EventKind.PURCHASE.value,
        **{f"money{n}": k for n, k in enumerate(sorted(KINDS_WITH_AMOUNT))},
        **id_params,
    }
    with connection.cursor() as cursor:
        cursor.execute(_rollup_sql(id_filter, event_filter), params)
        return int(cursor.rowcount)


def recompute_rollups_of_table(table: str) -> int:
    """Recompute the rollups of the contacts listed in a (temporary) table's ``contact_id``
    column, all in one statement: an import's touched contacts, however many, without sending
    their IDs back and forth. `table` is an identifier, already quoted."""
    c_id = col(Contact, "id")
    id_filter = f"c.{c_id} IN (SELECT contact_id FROM {table})"  # noqa: S608 - identifier
    params: dict[str, Any] = {
        "visit": EventKind.VISIT.value,
        "purchase": EventKind.PURCHASE.value,
        **{f"money{n}": k for n, k in enumerate(sorted(KINDS_WITH_AMOUNT))},
    }
    with connection.cursor() as cursor:
        cursor.execute(_rollup_sql(id_filter), params)
        return int(cursor.rowcount)


def recompute_rollups_orm(contact_ids: Iterable[int]) -> int:
    """The rollups through the ORM's correlated subqueries: slower, kept as the reference the
    raw statement is tested against."""
    ids = sorted(set(contact_ids))
    updated = 0
    expressions = rollup_expressions()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        updated += Contact.objects.filter(pk__in=chunk).update(**expressions)
    return updated
