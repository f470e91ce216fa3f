"""Contact list benchmark: the customer search with three filters and a sort on 1,000,000
contacts, first page and a deep page, on SQLite and PostgreSQL.

Run by hand (not part of the test suite):

    python3 -m uv run python bench/contact_list_bench.py                   # 1M contacts
    python3 -m uv run python bench/contact_list_bench.py --contacts 200000 --runs 7

The data set is segment_bench.py's (same generator, same loader: COPY / executemany with the
secondary indexes rebuilt after), with few events since the list reads contacts only. Each
engine runs in its own subprocess (Django binds to one DATABASE_URL), loads once, keeps a
marker in --work, and later runs go straight to timing.

What is timed is what the contact list view does for one page: compile the filters (a segment
definition) through `otodoke.web.contacts.search_contacts`, read one keyset page of 50
(`segments.contact_search.read_page`) and the capped count (`capped_count`, one query that
stops after 10,000 rows). "first" is the first page; "deep" is the page after the 100,000th row
of the same sort (its cursor found untimed). For comparison the same deep page read with
OFFSET is timed too. One warm-up round, then --runs rounds round-robin across engines so the
machine's noise hits both alike; medians and the load average before/after go to
bench/results/contact_list.md and bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import segment_bench as data
from latest import Figure, load_average, record

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WORK = "/tmp/otodoke-contact-list-bench"
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/otodoke_contact_list_bench"
DEPTH = 100_000
PAGE = 50
# Three filters and a sort, as a shop would ask: women in their 30s–40s who spent 20,000 yen or
# more, latest visit first.
FILTERS: dict[str, Any] = {
    "genders": ("female",),
    "age_min": 30,
    "age_max": 49,
    "spent_min": 20_000,
    "who": "all",
}
SORT, DESCENDING = "last_visit", True


def worker(engine: str, work: Path, depth: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from otodoke.contacts.models import Contact
    from otodoke.segments import contact_search as search
    from otodoke.web.contacts import ContactFilter, search_contacts
    from otodoke.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    manifest = json.loads((work / "manifest.json").read_text())
    marker = data._marker(work, engine)
    load_seconds = None
    if not (
        marker.exists()
        and json.loads(marker.read_text()) == manifest
        and Workspace.objects.filter(slug="bench").exists()
    ):
        started = time.perf_counter()
        data._load_all(engine, connection, work)
        load_seconds = time.perf_counter() - started
        marker.write_text(json.dumps(manifest))
    workspace = Workspace.objects.get(slug="bench")
    query = ContactFilter(filters=search.SearchFilters(**FILTERS))
    everyone = Contact.objects.in_workspace(workspace)

    def found() -> Any:
        return search_contacts(workspace, query, include_pii=False)

    # The deep page's cursor: the row at DEPTH of the same order, found once, untimed.
    key = search.SORTS[SORT]
    order = [f"-{key.column}", "-pk"] if key.inverted != DESCENDING else [key.column, "pk"]
    leg = found().filter(**{f"{key.column}__isnull": False}).order_by(*order)
    deep_row = leg[depth - 1 : depth].get()
    deep = search.decode_cursor(SORT, search.encode_cursor(SORT, deep_row))
    _reply({"ready": True, "load_seconds": load_seconds})

    def page(cursor: Any) -> dict[str, Any]:
        started = time.perf_counter()
        rows = search.read_page(
            found(), sort=SORT, descending=DESCENDING, cursor=cursor, size=PAGE, everyone=everyone
        )
        page_s = time.perf_counter() - started
        count = search.capped_count(found())
        total_s = time.perf_counter() - started
        return {
            "seconds": total_s,
            "page_seconds": page_s,
            "count_seconds": total_s - page_s,
            "rows": len(rows.rows),
            "first_id": rows.rows[0].pk,
            "count": count.value,
            "capped": count.capped,
        }

    for line in sys.stdin:
        command = line.strip()
        if command == "first":
            _reply(page(None))
        elif command == "deep":
            _reply(page(deep))
        elif command == "offset":
            started = time.perf_counter()
            rows = list(found().order_by(*order)[depth : depth + PAGE])
            _reply({"seconds": time.perf_counter() - started, "first_id": rows[0].pk})
        elif command == "plan":
            _reply(_plans(engine, connection, found, deep, everyone))
        elif command == "quit":
            return


def _reply(payload: dict[str, Any]) -> None:
    print(data.REPLY + json.dumps(payload, default=str), flush=True)


def _plans(engine: str, connection: Any, found: Any, deep: Any, everyone: Any) -> dict[str, str]:
    from otodoke.segments import contact_search as search

    captured: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        search.read_page(
            found(), sort=SORT, descending=DESCENDING, cursor=deep, size=PAGE, everyone=everyone
        )
        search.capped_count(found())
    plans = {}
    explain = "EXPLAIN (ANALYZE, BUFFERS) " if engine == "postgres" else "EXPLAIN QUERY PLAN "
    with connection.cursor() as cursor:
        # The page query and the count (the extremes' LIMIT 1 lookups come first).
        for name, (sql, params) in zip(("deep page", "count"), captured[-2:], strict=True):
            cursor.execute(explain + sql, params)
            rows = cursor.fetchall()
            plans[name] = "\n".join(" ".join(str(v) for v in row) for row in rows)
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--work", default=DEFAULT_WORK)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "contact_list.md"))
    parser.add_argument("--depth", type=int, default=DEPTH, help="rows before the deep page")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    if args.worker:
        worker(args.worker, work, int(os.environ.get("BENCH_DEPTH", DEPTH)))
        return
    data.generate(work, args.contacts, args.events)
    manifest = json.loads((work / "manifest.json").read_text())
    (work / "data").mkdir(exist_ok=True)
    engines: list[data.Worker] = []
    names = args.engines.split(",")
    load_seconds: dict[str, Any] = {}
    # segment_bench's Worker starts `__file__` of segment_bench; ours must start this file.
    data.__file__ = __file__
    os.environ["BENCH_DEPTH"] = str(args.depth)
    try:
        for engine in names:
            url = args.pg_url if engine == "postgres" else f"sqlite:///{work / 'bench.sqlite3'}"
            marker = data._marker(work, engine)
            if not (marker.exists() and json.loads(marker.read_text()) == manifest):
                data._reset(engine, work, args.pg_url)
            engines.append(data.Worker(engine, work, url))
        for w in engines:
            load_seconds[w.engine] = w.receive()["load_seconds"]
            print(f"== {w.engine} ready (load {load_seconds[w.engine]})", file=sys.stderr)
        load_before = load_average()
        for w in engines:  # warm-up
            for command in ("first", "deep", "offset"):
                w.ask(command)
        rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
            w.engine: {"first": [], "deep": [], "offset": []} for w in engines
        }
        for i in range(args.runs):
            for w in engines:
                for command in ("first", "deep", "offset"):
                    rounds[w.engine][command].append(w.ask(command))
            print(f"round {i + 1} done", file=sys.stderr, flush=True)
        load_after = load_average()
        plans = {w.engine: w.ask("plan") for w in engines}
    finally:
        for w in engines:
            w.close()
    report(Path(args.out), args, rounds, plans, load_seconds, load_before, load_after)


def _median_ms(runs: list[dict[str, Any]], key: str = "seconds") -> float:
    return round(statistics.median(r[key] for r in runs) * 1000, 1)


def report(
    out: Path,
    args: argparse.Namespace,
    rounds: dict[str, dict[str, list[dict[str, Any]]]],
    plans: dict[str, dict[str, str]],
    load_seconds: dict[str, Any],
    load_before: str,
    load_after: str,
) -> None:
    figures = []
    for engine, by in rounds.items():
        for which in ("first", "deep"):
            figures.append(
                Figure(
                    name=f"contact_list_{which}_{engine}_ms",
                    value=_median_ms(by[which]),
                    unit="ms",
                    load_before=load_before,
                    load_after=load_after,
                )
            )
    record(figures)
    lines = [
        "# Contact list (customer search) on 1,000,000 contacts",
        "",
        f"Command: `{figures[0].command}`  ",
        f"Commit: `{figures[0].commit}`, {figures[0].date}  ",
        f"Contacts: {args.contacts:,}; runs: {args.runs} (after one warm-up), round-robin "
        f"across engines  ",
        f"Load average before: {load_before}; after: {load_after} (2 cores shared with other "
        "sessions: read ratios side by side, not absolute times)  ",
        f"Load (seconds, empty = reused): {load_seconds}",
        "",
        "Filters: gender female, age 30–49, total spent ≥ 20,000 yen; sort: last visit, latest "
        f"first; page of {PAGE}; deep = after row {args.depth:,}. Each figure is one page of the "
        "list as the view computes it: the keyset page query plus the capped count (one query "
        "stopping at 10,000).",
        "",
        "| engine | page | median ms (page + count) | page query ms | count query ms | "
        "count shown | OFFSET page ms (same rows) |",
        "|---|---|---|---|---|---|---|",
    ]
    for engine, by in rounds.items():
        for which in ("first", "deep"):
            runs = by[which]
            count = runs[-1]
            shown = f"{count['count']:,}{'+' if count['capped'] else ''}"
            offset = _median_ms(by["offset"]) if which == "deep" else ""
            page_ms, count_ms = _median_ms(runs, "page_seconds"), _median_ms(runs, "count_seconds")
            lines.append(
                f"| {engine} | {which} | **{_median_ms(runs)}** | {page_ms} | {count_ms} | {shown}"
                f" | {offset} |"
            )
    lines += ["", "All runs (ms, page + count):", ""]
    for engine, by in rounds.items():
        for which in ("first", "deep", "offset"):
            values = ", ".join(f"{r['seconds'] * 1000:.1f}" for r in by[which])
            lines.append(f"- {engine} {which}: {values}")
    for engine, engine_plans in plans.items():
        for name, plan in engine_plans.items():
            lines += ["", f"### {engine}: {name} plan", "", "```", plan, "```"]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
