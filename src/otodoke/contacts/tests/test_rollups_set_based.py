"""The one-statement rollup recompute gives exactly what the ORM's correlated subqueries give."""

from datetime import UTC, datetime, timedelta
from random import Random

from otodoke.contacts.models import Contact, Event
from otodoke.contacts.rollups import recompute_rollups, recompute_rollups_orm
from otodoke.workspaces.models import Workspace

ROLLUPS = (
    "id", "first_visit_at", "last_visit_at", "visit_count", "purchase_count", "total_spent",
    "last_purchase_at",
)  # fmt: skip
START = datetime(2024, 1, 1, tzinfo=UTC)


def _maybe[T](rng: Random, value: T) -> T | None:
    return value if rng.random() < 0.5 else None


def _build(workspace: Workspace) -> list[int]:
    """Contacts with every mix of baseline (none, partial, full; before, between and after
    their events) and events of every kind, some without amounts; some with no events."""
    rng = Random(3)
    contacts = []

    def day() -> datetime:
        return START + timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 900))

    for n in range(60):
        contacts.append(
            Contact(
                workspace=workspace,
                external_id=str(n),
                baseline_first_visit_at=_maybe(rng, day()),
                baseline_last_visit_at=_maybe(rng, day()),
                baseline_visit_count=_maybe(rng, rng.randint(0, 9)),
                baseline_purchase_count=_maybe(rng, rng.randint(0, 9)),
                baseline_total_spent=_maybe(rng, rng.randint(0, 9) * 1100),
                baseline_last_purchase_at=_maybe(rng, day()),
                baseline_at=_maybe(rng, day()),
            )
        )
    Contact.objects.bulk_create(contacts)
    stored = list(Contact.objects.filter(workspace=workspace))
    events = []
    for contact in stored[:50]:
        for _ in range(rng.randint(0, 8)):
            events.append(
                Event(
                    workspace=workspace,
                    contact=contact,
                    kind=rng.choice(["visit", "purchase", "cart", "signup", "custom:予約"]),
                    occurred_at=START
                    + timedelta(days=rng.randint(0, 60), hours=rng.randint(0, 23)),
                    amount=rng.choice([None, 0, 500, 5500, 11000]),
                )
            )
    Event.objects.bulk_create(events)
    return [c.pk for c in stored]


def _snapshot(ids: list[int]) -> list[tuple[object, ...]]:
    return list(Contact.objects.filter(pk__in=ids).order_by("pk").values_list(*ROLLUPS))


def test_set_based_recompute_matches_the_orm_reference_on_every_mix(workspace: Workspace) -> None:
    ids = _build(workspace)
    assert recompute_rollups_orm(ids) == len(ids)
    expected = _snapshot(ids)
    assert any(row[3] for row in expected) and any(row[5] for row in expected)

    # Garbage in every rollup column, then the set-based statement must restore all of it.
    Contact.objects.filter(pk__in=ids).update(
        first_visit_at=START, last_visit_at=START, visit_count=999, purchase_count=999,
        total_spent=-1, last_purchase_at=START,
    )  # fmt: skip
    assert recompute_rollups(ids) == len(ids)
    assert _snapshot(ids) == expected


def test_set_based_recompute_only_touches_the_given_contacts(workspace: Workspace) -> None:
    ids = _build(workspace)
    recompute_rollups_orm(ids)
    Contact.objects.filter(pk=ids[0]).update(visit_count=999)
    recompute_rollups(ids[1:])
    assert Contact.objects.get(pk=ids[0]).visit_count == 999
