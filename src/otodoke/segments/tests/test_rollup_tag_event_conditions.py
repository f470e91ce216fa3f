"""Rollups ("N days ago" = start of that local day), tags and events, with NULL/empty data and
`not` as the exact complement."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from otodoke.contacts.models import Event
from otodoke.segments.tests.conftest import NOW, MakeContact, Match, event, tag

TOKYO = dt.timezone(dt.timedelta(hours=9))


def _not(where: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "not", "condition": where}


def test_days_ago_is_the_start_of_the_local_day_across_a_month_end(
    make_contact: MakeContact, match: Match
) -> None:
    # Now: 2024-03-31 10:00 Tokyo. 60 days before is 2024-01-31, so the boundary is
    # 2024-01-31 00:00 Tokyo = 2024-01-30 15:00 UTC.
    now = dt.datetime(2024, 3, 31, 1, 0, tzinfo=dt.UTC)
    at_boundary = make_contact(last_visit_at=dt.datetime(2024, 1, 31, 0, 0, tzinfo=TOKYO))
    just_before = make_contact(last_visit_at=dt.datetime(2024, 1, 30, 23, 59, 59, tzinfo=TOKYO))
    never = make_contact(last_visit_at=None)
    before = {"kind": "last_visit", "op": "before", "days_ago": 60}
    after = {"kind": "last_visit", "op": "on_or_after", "days_ago": 60}
    assert match(before, now=now) == {just_before.pk}
    assert match(after, now=now) == {at_boundary.pk}
    # Never visited: neither before nor after, but in both complements.
    assert match(_not(before), now=now) == {at_boundary.pk, never.pk}
    assert match({"kind": "last_visit", "op": "never"}, now=now) == {never.pk}


def test_date_boundary_and_other_date_rollups(make_contact: MakeContact, match: Match) -> None:
    a = make_contact(last_purchase_at=dt.datetime(2024, 1, 1, 0, 0, tzinfo=TOKYO))
    b = make_contact(first_visit_at=dt.datetime(2023, 12, 31, 23, 0, tzinfo=TOKYO))
    assert match({"kind": "last_purchase", "op": "on_or_after", "date": "2024-01-01"}) == {a.pk}
    assert match({"kind": "first_visit", "op": "before", "date": "2024-01-01"}) == {b.pk}


@pytest.mark.parametrize("kind", ["visit_count", "purchase_count", "total_spent"])
def test_number_rollups_are_inclusive_ranges(
    make_contact: MakeContact, match: Match, kind: str
) -> None:
    zero = make_contact(**{kind: 0})
    five = make_contact(**{kind: 5})
    ten = make_contact(**{kind: 10})
    assert match({"kind": kind, "min": 5, "max": 10}) == {five.pk, ten.pk}
    assert match({"kind": kind, "max": 4}) == {zero.pk}
    assert match(_not({"kind": kind, "min": 5})) == {zero.pk}


def test_tags_any_all_none_and_added_within(make_contact: MakeContact, match: Match) -> None:
    both = make_contact()
    tag(both, "VIP")
    tag(both, "line", added_at=NOW - dt.timedelta(days=40))
    vip = make_contact()
    tag(vip, "VIP")
    bare = make_contact()
    assert match({"kind": "tags", "match": "any", "names": ["VIP", "line"]}) == {both.pk, vip.pk}
    assert match({"kind": "tags", "match": "all", "names": ["VIP", "line"]}) == {both.pk}
    assert match({"kind": "tags", "match": "none", "names": ["line"]}) == {vip.pk, bare.pk}
    recent = {"kind": "tags", "match": "any", "names": ["line"], "added_within_days": 30}
    assert match(recent) == set()
    assert match({**recent, "added_within_days": 40}) == {both.pk}


def test_event_count_with_property_filter_in_window(
    make_contact: MakeContact, match: Match
) -> None:
    twice = make_contact()
    once = make_contact()
    old = make_contact()
    none = make_contact()
    for c, days in [(twice, 5), (twice, 80), (once, 10), (old, 120)]:
        event(c, "purchase", NOW - dt.timedelta(days=days), 3000, category="シャンプー")
    event(once, "purchase", NOW - dt.timedelta(days=3), 9000, category="トリートメント")
    base = {
        "kind": "event",
        "event": "purchase",
        "where": [{"key": "category", "op": "equals", "value": "シャンプー"}],
        "within_days": 90,
    }
    assert match(base) == {twice.pk, once.pk}
    assert match({**base, "op": "at_least", "value": 2}) == {twice.pk}
    assert match({**base, "op": "exactly", "value": 1}) == {once.pk}
    assert match({**base, "op": "exactly", "value": 0}) == {old.pk, none.pk}
    assert match({**base, "op": "at_most", "value": 1}) == {once.pk, old.pk, none.pk}
    assert match(_not(base)) == {old.pk, none.pk}
    assert match({**base, "within_days": None}) == {twice.pk, once.pk, old.pk}


def test_event_amount_sums_and_property_ops(make_contact: MakeContact, match: Match) -> None:
    big = make_contact()
    small = make_contact()
    nothing = make_contact()
    event(big, "purchase", NOW - dt.timedelta(days=1), 8000, price=8000, tags="sale,new")
    event(big, "purchase", NOW - dt.timedelta(days=2), 4000, price="n/a")
    event(small, "purchase", NOW - dt.timedelta(days=1), 1000, price=1000)
    event(small, "purchase", NOW - dt.timedelta(days=1), None)
    amount = {"kind": "event", "event": "purchase", "measure": "amount"}
    assert match({**amount, "op": "at_least", "value": 10000}) == {big.pk}
    # No events sum to 0.
    assert match({**amount, "op": "at_most", "value": 1000}) == {small.pk, nothing.pk}
    assert match({**amount, "op": "exactly", "value": 0}) == {nothing.pk}
    ev = {"kind": "event", "event": "purchase"}
    gte = {**ev, "where": [{"key": "price", "op": "gte", "value": 5000}]}
    lte = {**ev, "where": [{"key": "price", "op": "lte", "value": 5000}]}
    # "n/a" is not a number: matched by neither comparison, on both databases.
    assert match(gte) == {big.pk}
    assert match(lte) == {small.pk}
    assert match({**ev, "where": [{"key": "price", "op": "in", "value": [1000, 7]}]}) == {small.pk}
    assert match({**ev, "where": [{"key": "tags", "op": "contains", "value": "SALE"}]}) == {big.pk}
    assert match({**ev, "where": [{"key": "price", "op": "exists"}]}) == {big.pk, small.pk}


def test_event_since_until_are_inclusive_local_dates(
    make_contact: MakeContact, match: Match
) -> None:
    last_second = make_contact()
    event(last_second, "visit", dt.datetime(2024, 1, 31, 23, 59, 59, tzinfo=TOKYO))
    next_day = make_contact()
    event(next_day, "visit", dt.datetime(2024, 2, 1, 0, 0, tzinfo=TOKYO))
    where = {"kind": "event", "event": "visit", "since": "2024-01-01", "until": "2024-01-31"}
    assert match(where) == {last_second.pk}


def test_custom_event_kind(make_contact: MakeContact, match: Match) -> None:
    c = make_contact()
    event(c, "custom:review", NOW)
    assert match({"kind": "event", "event": "custom:review"}) == {c.pk}


def test_event_where_on_amount_tests_the_amount_column(
    make_contact: MakeContact, match: Match
) -> None:
    # The oracle: contacts with a purchase of 5,000 yen or more, computed from the rows.
    purchases: dict[str, list[int | None]] = {
        "a": [8000, 1000],
        "b": [5000],
        "c": [4999, None],
        "d": [],
    }
    contacts = {}
    for name, amounts in purchases.items():
        contacts[name] = make_contact()
        for amount in amounts:
            event(contacts[name], "purchase", NOW - dt.timedelta(days=1), amount)
    # A property named like the column does not count: the key is the column.
    Event.objects.create(
        workspace=contacts["d"].workspace,
        contact=contacts["d"],
        kind="purchase",
        occurred_at=NOW,
        properties={"amount": 9000},
    )
    expected = {
        contacts[n].pk for n, amounts in purchases.items() if any((x or 0) >= 5000 for x in amounts)
    }
    ev = {"kind": "event", "event": "purchase"}
    gte = {**ev, "where": [{"key": "amount", "op": "gte", "value": 5000}]}
    assert match(gte) == expected == {contacts["a"].pk, contacts["b"].pk}
    assert match({**ev, "where": [{"key": "amount", "op": "lte", "value": 1000}]}) == {
        contacts["a"].pk
    }
    assert match({**ev, "where": [{"key": "amount", "op": "equals", "value": 4999}]}) == {
        contacts["c"].pk
    }
    assert match({**ev, "where": [{"key": "amount", "op": "in", "value": [5000, 1]}]}) == {
        contacts["b"].pk
    }
    # exists: events that carry an amount (d's only purchase has none).
    assert match({**ev, "where": [{"key": "amount", "op": "exists"}]}) == {
        contacts[n].pk for n in "abc"
    }
    assert match(_not(gte)) == {contacts["c"].pk, contacts["d"].pk}


def test_event_where_on_source_tests_the_source_column(
    make_contact: MakeContact, match: Match
) -> None:
    imported = make_contact()
    Event.objects.create(
        workspace=imported.workspace,
        contact=imported,
        kind="visit",
        occurred_at=NOW,
        source="import",
    )
    api = make_contact()
    event(api, "visit", NOW)
    ev = {"kind": "event", "event": "visit"}
    assert match({**ev, "where": [{"key": "source", "op": "equals", "value": "import"}]}) == {
        imported.pk
    }
    assert match({**ev, "where": [{"key": "source", "op": "contains", "value": "AP"}]}) == {api.pk}


@pytest.mark.parametrize(
    ("test", "message"),
    [
        ({"key": "amount", "op": "contains", "value": "50"}, "amount is the event's number"),
        ({"key": "amount", "op": "equals", "value": "5000"}, "amount is a number (yen)"),
        ({"key": "amount", "op": "gte", "value": 99.5}, "amount is a number (yen)"),
        ({"key": "source", "op": "gte", "value": 1}, "source is the event's text"),
        ({"key": "source", "op": "in", "value": ["api", 1]}, "source is text"),
    ],
)
def test_event_where_refuses_a_column_test_that_could_never_match(
    test: dict[str, Any], message: str
) -> None:
    from otodoke.segments.schema import DefinitionError, parse_definition

    where = {"kind": "all", "conditions": [{"kind": "event", "event": "purchase", "where": [test]}]}
    with pytest.raises(DefinitionError) as caught:
        parse_definition({"version": 1, "where": where})
    (problem,) = caught.value.problems
    assert problem.path == "$.where.conditions[0].where[0]"
    assert message in problem.message
