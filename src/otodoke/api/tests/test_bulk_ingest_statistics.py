"""The bulk routes leave planner statistics behind (issue 12.4), and only when a table
changed enough since its last analysis: a stream of small requests does not analyse on each."""

from __future__ import annotations

from collections.abc import Callable

from django.db import connection

from otodoke.api.tests.conftest import ApiClient
from otodoke.contacts.models import Contact, Event
from otodoke.core.statistics import refresh_stale_statistics
from otodoke.workspaces.models import Workspace


def _analysed_rows(table: str) -> int | None:
    """The row count the last analysis recorded, or None when the table has none."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [table])
            reltuples = cursor.fetchone()[0]
            return None if reltuples < 0 else int(reltuples)
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return None
        cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
        row = cursor.fetchone()
        return None if row is None else int(row[0].split()[0])


def _contacts(start: int, count: int) -> dict[str, object]:
    return {
        "contacts": [
            {"external_id": f"C{n}", "name": f"客{n}"} for n in range(start, start + count)
        ]
    }


def test_bulk_contacts_then_events_leave_statistics(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    client = api("write")
    assert client.post("/api/v1/contacts/bulk", _contacts(0, 200)).status_code == 200
    events = [
        {
            "external_id": f"E{n}",
            "contact_external_id": f"C{n % 200}",
            "kind": "visit",
            "occurred_at": "2026-05-01T10:00:00+09:00",
        }
        for n in range(600)
    ]
    assert client.post("/api/v1/events/bulk", {"events": events}).status_code == 200

    assert _analysed_rows(Contact._meta.db_table) == 200
    assert _analysed_rows(Event._meta.db_table) == 600


def test_a_small_change_after_an_analysis_does_not_analyse_again(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    client = api("write")
    client.post("/api/v1/contacts/bulk", _contacts(0, 1000))
    assert _analysed_rows(Contact._meta.db_table) == 1000

    client.post("/api/v1/contacts/bulk", _contacts(1000, 20))  # 2 %: below the threshold
    assert _analysed_rows(Contact._meta.db_table) == 1000
    assert refresh_stale_statistics(Contact) == []

    client.post("/api/v1/contacts/bulk", _contacts(1020, 200))  # 22 % more since the last one
    assert _analysed_rows(Contact._meta.db_table) == 1220
