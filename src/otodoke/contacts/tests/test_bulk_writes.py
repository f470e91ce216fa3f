"""The raw-SQL chunk writes: exact counts, untouched unchanged rows, and chunk boundaries."""

from datetime import UTC, date, datetime
from typing import Any

import pytest

from otodoke.contacts import ingest, services
from otodoke.contacts.imports import run_import
from otodoke.contacts.inputs import ContactInput, EventInput
from otodoke.contacts.models import Contact, Event
from otodoke.contacts.services import ingest_events, upsert_contacts
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace


def at(day: int) -> datetime:
    return datetime(2024, 3, day, 10, 30, 15, 123456, tzinfo=UTC)


def event(ext: str, day: int, amount: int, **props: str) -> EventInput:
    return EventInput(
        external_id=ext, contact_external_id="1", kind="visit", occurred_at=at(day),
        amount=amount, properties=props, source="import",
    )  # fmt: skip


def test_events_reingest_counts_only_real_changes(workspace: Workspace) -> None:
    Contact.objects.create(workspace=workspace, external_id="1")
    first = ingest_events(workspace, [event("a", 1, 100, item="カット"), event("b", 2, 200)])
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    stored = {e.external_id: (e.pk, e.created_at) for e in Event.objects.all()}

    again = ingest_events(workspace, [event("a", 1, 100, item="カット"), event("b", 2, 250)])

    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert {e.external_id: (e.pk, e.created_at) for e in Event.objects.all()} == stored
    assert Event.objects.get(external_id="a").occurred_at == at(1)  # microseconds kept
    assert Event.objects.get(external_id="a").properties == {"item": "カット"}
    assert Contact.objects.get().total_spent == 350


def test_contacts_reupsert_leaves_unchanged_rows_alone(workspace: Workspace) -> None:
    rows = [
        ContactInput(
            external_id=str(n),
            values={"name": f"客{n}", "birth_date": date(1990, 1, n), "marketing_consent": True},
            attributes={"staff": "佐藤"},
        )
        for n in (1, 2, 3)
    ]
    assert upsert_contacts(workspace, rows).created == 3
    before = {c.external_id: c.updated_at for c in Contact.objects.all()}

    rows[1] = ContactInput(external_id="2", values={"name": "客2改"}, attributes={"staff": "佐藤"})
    result = upsert_contacts(workspace, rows)

    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    after = {c.external_id: c.updated_at for c in Contact.objects.all()}
    assert after["1"] == before["1"] and after["3"] == before["3"]
    assert after["2"] > before["2"]
    two = Contact.objects.get(external_id="2")
    assert (two.name, two.birth_date) == ("客2改", date(1990, 1, 2))
    assert two.attributes == {"staff": "佐藤"}


def _import_files(workspace: Workspace, write_csv: WriteCsv) -> list[tuple[object, ...]]:
    contacts = write_csv(
        [["顧客番号", "氏名", "来店回数", "最終来店日"]]
        + [[str(n), f"客{n}", str(n), "2024/1/1"] for n in range(1, 6)]
        + [["", "番号なし", "", ""]],
        name="c.csv",
    )
    events = write_csv(
        [["伝票番号", "顧客番号", "日時", "金額"]]
        + [[f"T{n}", str(n % 5 + 1), f"2024-02-{n + 1:02d} 10:00", "1000"] for n in range(7)]
        + [["T2", "3", "2024-02-03 10:00", "1000"], ["T9", "99", "2024-02-01", "1"]],
        name="e.csv",
    )
    reports = [
        run_import(workspace, "contacts", contacts),
        run_import(workspace, "events", events),
        run_import(workspace, "events", events),
    ]
    counts = [(r.created, r.updated, r.unchanged, r.error_count) for r in reports]
    rollups = Contact.objects.order_by("external_id").values_list(
        "external_id", "visit_count", "total_spent", "last_visit_at"
    )
    return [*counts, *rollups]


def test_chunk_boundaries_mid_file_change_nothing(
    workspace: Workspace,
    write_csv: WriteCsv,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    whole = _import_files(workspace, write_csv)
    Contact.objects.all().delete()

    # Tiny chunks: every service chunk and reader batch boundary falls mid-file, and the
    # duplicate T2 lands in a different chunk from its first occurrence.
    settings.OTODOKE_IMPORT_CHUNK_ROWS = 3
    monkeypatch.setattr(services, "CHUNK", 2)
    monkeypatch.setattr(ingest, "CHUNK", 2)
    chunked = _import_files(workspace, write_csv)

    assert chunked == whole
    assert whole[:3] == [(5, 0, 0, 1), (7, 0, 1, 1), (0, 0, 8, 1)]
