from datetime import UTC, datetime

from otodoke.contacts.inputs import ContactInput, EventInput
from otodoke.contacts.models import Contact
from otodoke.contacts.services import ingest_events, upsert_contacts
from otodoke.workspaces.models import Workspace


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def visit(ext: str, day: int, amount: int | None = None, contact: str = "1") -> EventInput:
    return EventInput(
        external_id=ext, contact_external_id=contact, kind="visit", occurred_at=at(day),
        amount=amount,
    )  # fmt: skip


def purchase(ext: str, day: int, amount: int) -> EventInput:
    return EventInput(
        external_id=ext, contact_external_id="1", kind="purchase", occurred_at=at(day),
        amount=amount,
    )  # fmt: skip


def rollups(external_id: str = "1") -> tuple[object, ...]:
    c = Contact.objects.get(external_id=external_id)
    return (
        c.visit_count, c.first_visit_at, c.last_visit_at, c.purchase_count, c.total_spent,
        c.last_purchase_at,
    )  # fmt: skip


def test_rollups_are_exact_after_inserts_corrections_and_duplicates(workspace: Workspace) -> None:
    Contact.objects.create(workspace=workspace, external_id="1")
    Contact.objects.create(workspace=workspace, external_id="2")

    ingest_events(workspace, [visit("v1", 1, 5000), visit("v2", 5, 7000), purchase("p1", 5, 3000)])
    assert rollups() == (2, at(1), at(5), 1, 15000, at(5))

    # Duplicates, in the same batch and again later: counted once.
    result = ingest_events(workspace, [visit("v2", 5, 7000), visit("v2", 5, 7000)])
    assert result.created == 0
    assert rollups() == (2, at(1), at(5), 1, 15000, at(5))

    # Corrections: a new amount and a new time for the same external IDs.
    ingest_events(workspace, [visit("v2", 7, 8000), purchase("p1", 2, 1000)])
    assert rollups() == (2, at(1), at(7), 1, 14000, at(2))

    # A correction that moves an event to another contact fixes both.
    ingest_events(workspace, [visit("v1", 1, 5000, contact="2")])
    assert rollups() == (1, at(7), at(7), 1, 9000, at(2))
    assert rollups("2") == (1, at(1), at(1), 0, 5000, None)


def test_imported_baseline_and_later_events_combine_without_double_counting(
    workspace: Workspace,
) -> None:
    baseline = {
        "baseline_visit_count": 10,
        "baseline_last_visit_at": at(3),
        "baseline_total_spent": 100000,
    }
    upsert_contacts(workspace, [ContactInput(external_id="1", values=baseline)], as_of=at(4))
    assert rollups() == (10, at(3), at(3), 0, 100000, None)

    # Before the snapshot: already counted by the POS. After it: new.
    ingest_events(workspace, [visit("old", 2, 5000), visit("new", 6, 7000)])
    assert rollups() == (11, at(2), at(6), 0, 107000, None)

    # A newer POS export that already counts the visit on the 6th moves the baseline forward.
    newer = {**baseline, "baseline_visit_count": 11, "baseline_last_visit_at": at(6),
             "baseline_total_spent": 107000}  # fmt: skip
    upsert_contacts(workspace, [ContactInput(external_id="1", values=newer)], as_of=at(8))
    assert rollups() == (11, at(2), at(6), 0, 107000, None)
