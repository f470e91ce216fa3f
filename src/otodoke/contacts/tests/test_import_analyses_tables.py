"""Right after an import the planner has statistics, and an event condition probes each
contact's events through the per-contact index (issue 12.4: without statistics SQLite took the
workspace-wide index and an event segment took minutes on 20,000 fresh contacts)."""

from __future__ import annotations

from typing import Any

from django.db import connection

from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact, Event
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.segments.services import contacts_matching
from otodoke.workspaces.models import Workspace

CONTACTS = 300
EVENTS_EACH = 8
# The shape of the benchmark's segment: a few candidates by an indexed contact column, then
# one probe of each candidate's own events.
BOUGHT_IN_HOKKAIDO = {
    "version": 1,
    "where": {
        "kind": "all",
        "conditions": [
            {"kind": "prefecture", "values": ["北海道"]},
            # All time, counted: without statistics SQLite probed (workspace, kind) per
            # contact, i.e. read the workspace's every purchase for each candidate.
            {"kind": "event", "event": "purchase", "value": 3},
        ],
    },
}


def _import_history(workspace: Workspace, write_csv: WriteCsv) -> None:
    contacts = [["顧客番号", "氏名", "都道府県"]]
    for n in range(CONTACTS):
        contacts.append([str(n), f"客{n}", "北海道" if n % 100 == 0 else "東京都"])
    events = [["伝票番号", "顧客番号", "種別", "日時", "金額"]]
    for n in range(CONTACTS):
        for k in range(EVENTS_EACH):
            kind = "購入" if k % 2 else "来店"
            events.append([f"R{n}-{k}", str(n), kind, f"2026-{k % 12 + 1:02d}-01 10:00", "1000"])
    run_import(workspace, "contacts", write_csv(contacts, name="contacts.csv"))
    run_import(workspace, "events", write_csv(events, name="events.csv"))
    assert Event.objects.count() == CONTACTS * EVENTS_EACH


def _plan(workspace: Workspace) -> str:
    sql, params = contacts_matching(workspace, BOUGHT_IN_HOKKAIDO).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test's tables fit in a few pages, where a sequential scan is the honest
            # cheapest plan; with it off the planner must still choose between the two
            # indexes, and that choice is what statistics decide.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            cursor.execute("RESET enable_seqscan")
            return plan
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _statistics(table: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.reltuples, (SELECT count(*) FROM pg_stats s"
                " WHERE s.schemaname = current_schema() AND s.tablename = %s)"
                " FROM pg_class c WHERE c.oid = to_regclass(%s)",
                [table, table],
            )
            reltuples, columns = cursor.fetchone()
            return {"rows": int(reltuples), "columns_with_stats": columns}
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        rows = dict(cursor.fetchall())
        # Each index's row starts with the table's row count.
        counts = {int(stat.split()[0]) for stat in rows.values()}
        assert len(counts) == 1, rows
        return {"rows": counts.pop(), "indexes": rows}


def test_an_import_leaves_statistics_for_the_tables_it_wrote(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    _import_history(workspace, write_csv)

    events = _statistics(Event._meta.db_table)
    contacts = _statistics(Contact._meta.db_table)

    assert events["rows"] == CONTACTS * EVENTS_EACH
    assert contacts["rows"] == CONTACTS
    if connection.vendor == "postgresql":
        assert events["columns_with_stats"] > 0
    else:
        assert "event_ws_kind_time" in events["indexes"]


def test_an_event_condition_uses_the_per_contact_index_right_after_an_import(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    _import_history(workspace, write_csv)

    plan = _plan(workspace)

    # Each candidate's events are found by its contact_id through the (contact, kind, time)
    # index (the foreign key has no index of its own: this one serves its lookups).
    assert "event_contact_kind_time" in plan, plan
    assert "contact_id=?" in plan or "Index Cond: ((contact_id = contacts_contact.id)" in plan, plan
    assert "event_ws_kind_time" not in plan, plan
