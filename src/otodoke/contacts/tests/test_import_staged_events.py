"""The staged events import (issue 14.1): chunks bulk-loaded into a staging table, then applied
set-based. Small chunks (the setting) put bad rows, duplicates and the crash in different chunks."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from otodoke.contacts.imports import run_import, staging
from otodoke.contacts.models import Contact, Event
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace

HEADER = ["伝票番号", "顧客番号", "種別", "日時", "金額", "メニュー"]
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def small_chunks(settings: Any) -> None:
    settings.OTODOKE_IMPORT_CHUNK_ROWS = 7


def _contacts(workspace: Workspace, n: int) -> None:
    Contact.objects.bulk_create(
        Contact(workspace=workspace, external_id=str(i)) for i in range(1, n + 1)
    )


def _history(rows: int, contacts: int, seed: int = 3) -> list[list[str]]:
    rng = random.Random(seed)
    out = [HEADER]
    start = datetime(2024, 1, 1, 9, 0, tzinfo=TOKYO)
    for n in range(1, rows + 1):
        kind, item, price = rng.choice(
            [("来店", "カット", "5500"), ("購入", "シャンプー", "3300"), ("来店", "カラー", "")]
        )
        moment = start + timedelta(minutes=rng.randint(0, 90 * 24 * 60))
        out.append(
            [f"T{n}", str(rng.randint(1, contacts)), kind, f"{moment:%Y-%m-%d %H:%M}", price, item]
        )
    return out


def _oracle(rows: list[list[str]]) -> dict[str, tuple[Any, ...]]:
    """Rollups computed in plain Python from the file: the last row of each transaction
    number counts, once."""
    last: dict[str, list[str]] = {}
    for row in rows[1:]:
        last[row[0]] = row
    per: dict[str, list[list[str]]] = defaultdict(list)
    for row in last.values():
        per[row[1]].append(row)
    result = {}
    for customer, events in per.items():

        def when(row: list[str]) -> datetime:
            return datetime.fromisoformat(row[3]).replace(tzinfo=TOKYO).astimezone(UTC)

        visits = [when(r) for r in events if r[2] == "来店"]
        purchases = [when(r) for r in events if r[2] == "購入"]
        result[customer] = (
            len(visits),
            min(visits, default=None),
            max(visits, default=None),
            len(purchases),
            sum(int(r[4]) for r in events if r[4]),
            max(purchases, default=None),
        )
    return result


def _rollups(workspace: Workspace) -> dict[str, tuple[Any, ...]]:
    return {
        c.external_id or "": (
            c.visit_count,
            c.first_visit_at,
            c.last_visit_at,
            c.purchase_count,
            c.total_spent,
            c.last_purchase_at,
        )
        for c in Contact.objects.filter(workspace=workspace)
        if c.visit_count or c.purchase_count
    }


@pytest.mark.usefixtures("small_chunks")
def test_rollups_match_a_python_oracle_over_many_chunks_with_duplicate_ids(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    _contacts(workspace, 12)
    rows = _history(150, 12)
    # The same transaction numbers again later in the file (other chunks), one corrected.
    rows += [rows[5], rows[40], [*rows[77][:4], "9900", rows[77][5]]]
    report = run_import(workspace, "events", write_csv(rows))

    assert (report.created, report.updated, report.unchanged, report.error_count) == (150, 0, 3, 0)
    assert Event.objects.count() == 150
    assert Event.objects.get(external_id=rows[77][0]).amount == 9900
    assert _rollups(workspace) == _oracle(rows)


@pytest.mark.usefixtures("small_chunks")
def test_bad_rows_in_different_chunks_are_each_reported_and_the_good_rows_land(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    _contacts(workspace, 5)
    rows = _history(40, 5)
    rows[3][3] = "2024/13/45 10:00"  # line 4, chunk 1: no such date
    rows[12][1] = "999"  # line 13, chunk 2: unknown customer (found in SQL, not in Python)
    rows[20][4] = "たくさん"  # line 21, chunk 3: not an amount
    rows[33][1] = ""  # line 34, chunk 5: no customer number
    report = run_import(workspace, "events", write_csv(rows))

    assert [(e.row, e.column) for e in report.errors] == [
        (4, "日時"),
        (13, "顧客番号"),
        (21, "金額"),
        (34, "顧客番号"),
    ]
    assert report.error_count == 4
    assert report.created == 36
    assert sorted(str(x) for x in Event.objects.values_list("external_id", flat=True)) == sorted(
        r[0] for i, r in enumerate(rows[1:], start=2) if i not in (4, 13, 21, 34)
    )
    good = [r for i, r in enumerate(rows) if i not in (3, 12, 20, 33)]
    assert _rollups(workspace) == _oracle(good)


@pytest.mark.usefixtures("small_chunks")
def test_reimport_changes_nothing_and_a_correction_updates_only_its_row(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    _contacts(workspace, 8)
    rows = _history(60, 8)
    path = write_csv(rows)
    run_import(workspace, "events", path)
    stored = list(Event.objects.order_by("pk").values())
    contacts = list(Contact.objects.order_by("pk").values())

    again = run_import(workspace, "events", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 60)
    assert list(Event.objects.order_by("pk").values()) == stored
    assert list(Contact.objects.order_by("pk").values()) == contacts

    # One event moved to another customer: both customers' rollups follow.
    moved = rows[10]
    new_owner = "8" if moved[1] != "8" else "7"
    rows[10] = [moved[0], new_owner, *moved[2:]]
    fixed = run_import(workspace, "events", write_csv(rows, name="fixed.csv"))
    assert (fixed.created, fixed.updated, fixed.unchanged) == (0, 1, 59)
    assert Event.objects.get(external_id=moved[0]).contact.external_id == new_owner
    assert _rollups(workspace) == _oracle(rows)


@pytest.mark.usefixtures("small_chunks")
def test_a_crash_in_a_late_chunk_leaves_nothing_half_applied(
    workspace: Workspace, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    _contacts(workspace, 6)
    path = write_csv(_history(50, 6))
    contacts = list(Contact.objects.order_by("pk").values())
    real_load = staging.Staging.load
    calls = []

    def crashing_load(self: staging.Staging, rows: Any) -> None:
        calls.append(len(rows))
        if len(calls) == 6:  # the 6th of 8 chunks: five are already in the staging table
            raise RuntimeError("disk full")
        real_load(self, rows)

    monkeypatch.setattr(staging.Staging, "load", crashing_load)
    with pytest.raises(RuntimeError, match="disk full"):
        run_import(workspace, "events", path)

    assert Event.objects.count() == 0
    assert list(Contact.objects.order_by("pk").values()) == contacts

    # Nothing is left behind either: the same file imports whole afterwards.
    monkeypatch.setattr(staging.Staging, "load", real_load)
    report = run_import(workspace, "events", path)
    assert (report.created, report.error_count) == (50, 0)


def test_a_crash_in_the_set_based_step_leaves_nothing_half_applied(
    workspace: Workspace, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otodoke.contacts.imports import events

    _contacts(workspace, 3)
    path = write_csv(_history(20, 3))

    def crash(table: str) -> int:
        raise RuntimeError("killed")

    # After the events are written, before the rollups.
    monkeypatch.setattr(events, "recompute_rollups_of_table", crash)
    with pytest.raises(RuntimeError, match="killed"):
        run_import(workspace, "events", path)
    assert Event.objects.count() == 0


def test_cp932_file_with_times_in_other_formats_goes_the_slow_path_alike(
    workspace: Workspace, write_csv: WriteCsv, tmp_path: Path
) -> None:
    _contacts(workspace, 2)
    rows = [
        HEADER,
        ["A", "1", "来店", "2024/03/01 10:00", "5,500円", "カット"],
        ["B", "１", "購入", "2024-03-01T11:30:00+09:00", "3300", "シャンプー"],
        ["C", "2", "来店", "令和6年3月2日", "", ""],
    ]
    report = run_import(workspace, "events", write_csv(rows, encoding="cp932"))
    assert (report.encoding, report.created, report.error_count) == ("cp932", 3, 0)
    got = {e.external_id: (e.occurred_at, e.amount) for e in Event.objects.all()}
    assert got == {
        "A": (datetime(2024, 3, 1, 1, 0, tzinfo=UTC), 5500),
        "B": (datetime(2024, 3, 1, 2, 30, tzinfo=UTC), 3300),
        "C": (datetime(2024, 3, 1, 15, 0, tzinfo=UTC), None),
    }
