"""Segment count benchmark: Otodoke's ORM query on SQLite and PostgreSQL vs hand-written DuckDB SQL.

Run by hand (not part of the test suite):

    python3 -m uv run python bench/segment_bench.py                      # 1M contacts, 10M events
    python3 -m uv run python bench/segment_bench.py --contacts 200000 --events 2000000
    python3 -m uv run python bench/segment_bench.py --reuse --runs 7     # timing phase only

One deterministic data set is generated as CSV into --work, then loaded straight into each
database (COPY on PostgreSQL, executemany in one transaction on SQLite; secondary indexes are
dropped during the load and rebuilt after), and read by DuckDB with read_csv into memory.
The SQLite file and the PostgreSQL database are kept, with a marker file per engine in --work,
so a later run (or --reuse, which refuses to load) goes straight to the timing phase.

Timing phase: every engine is loaded first, then one untimed warm-up round, then --runs rounds
round-robin (sqlite, postgres, duckdb, sqlite, ...) so machine noise hits all engines alike.
Each engine answers the product's question: count_segment() (the segment's count and, in the
same query, how many of them LINE would reach now); DuckDB runs hand-written SQL for both
numbers on the same rows. The counts must agree. Medians, all runs, ratios, the load average
before and after, and each engine's query plan (EXPLAIN ANALYZE on PostgreSQL and DuckDB,
EXPLAIN QUERY PLAN on SQLite) go into --out (bench/results/segments.md).

Rollup columns are random, not derived from the events: the benchmark measures query speed,
not rollup correctness.
"""

# Table and column names in the SQL below are this file's constants; the bench workspace's
# credentials are dummies.
# ruff: noqa: S106, S608

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2025, 6, 15, 3, 0, tzinfo=dt.UTC)  # 12:00 in Tokyo
TAGS = ["VIP", "休眠", "line", "新規", "回数券"]
CATEGORIES = ["シャンプー", "トリートメント", "カラー", "スタイリング", "その他"]
OTHER_PREFS = ["北海道", "宮城県", "愛知県", "京都府", "兵庫県", "広島県", "福岡県", "沖縄県"]

SEGMENT: dict[str, Any] = {
    "version": 1,
    "where": {
        "kind": "all",
        "conditions": [
            {"kind": "age", "min": 30, "max": 39},
            {"kind": "prefecture", "values": ["東京都", "神奈川県", "埼玉県", "千葉県"]},
            {"kind": "last_visit", "op": "before", "days_ago": 30},
            {"kind": "total_spent", "min": 20000},
            {"kind": "tags", "match": "any", "names": ["line"]},
            {"kind": "not", "condition": {"kind": "tags", "match": "any", "names": ["休眠"]}},
            {
                "kind": "event",
                "event": "purchase",
                "within_days": 90,
                "where": [{"key": "category", "op": "equals", "value": "シャンプー"}],
            },
            {"kind": "friend_for", "at_least_days": 30},
        ],
    },
}

CONTACT_COLS = [
    ("id", False), ("workspace_id", False), ("external_id", True), ("name", False),
    ("name_kana", False), ("gender", False), ("birth_date", True), ("prefecture", False),
    ("email", False), ("phone", False), ("attributes", False), ("marketing_consent", False),
    ("line_user_id", True), ("line_status", False), ("line_followed_at", True),
    ("line_display_name", False), ("line_picture_url", False), ("line_language", False),
    ("line_linked_via", False), ("last_visit_at", True), ("visit_count", False),
    ("purchase_count", False), ("total_spent", False), ("created_at", False),
    ("updated_at", False),
]  # fmt: skip
EVENT_COLS = [
    ("id", False), ("workspace_id", False), ("contact_id", False), ("kind", False),
    ("occurred_at", False), ("amount", True), ("properties", False), ("source", False),
    ("created_at", False),
]  # fmt: skip
TAG_COLS = [("id", False), ("workspace_id", False), ("name", False), ("created_at", False)]
CONTACT_TAG_COLS = [
    ("id", False), ("contact_id", False), ("tag_id", False), ("added_at", False),
    ("source", False),
]  # fmt: skip
TABLES = {
    "contacts_contact": ("contacts.csv", CONTACT_COLS),
    "contacts_tag": ("tags.csv", TAG_COLS),
    "contacts_contacttag": ("contact_tags.csv", CONTACT_TAG_COLS),
    "contacts_event": ("events.csv", EVENT_COLS),
}


def ts(value: dt.datetime) -> str:
    # Naive UTC text: what Django stores on SQLite, and what PostgreSQL reads in a UTC session.
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


# --- data ---------------------------------------------------------------------------------


def generate(work: Path, contacts: int, events: int, seed: int = 7) -> None:
    manifest = work / "manifest.json"
    wanted = {"contacts": contacts, "events": events, "seed": seed, "now": NOW.isoformat()}
    if manifest.exists() and json.loads(manifest.read_text()) == wanted:
        print(f"data: reusing {work}", file=sys.stderr)
        return
    work.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    started = time.perf_counter()
    created = ts(NOW)
    with (work / "tags.csv").open("w", newline="") as f:
        w = csv.writer(f)
        for i, name in enumerate(TAGS, start=1):
            w.writerow([i, 1, name, created])
    now_s = NOW.timestamp()
    day = 86400.0
    with (
        (work / "contacts.csv").open("w", newline="") as cf,
        (work / "contact_tags.csv").open("w", newline="") as tf,
    ):
        cw, tw = csv.writer(cf), csv.writer(tf)
        tag_id = 0
        tag_rates = [0.10, 0.15, 0.60, 0.20, 0.10]
        for i in range(1, contacts + 1):
            r = rng.random()
            pref = (
                "東京都" if r < 0.2 else "神奈川県" if r < 0.28 else "埼玉県" if r < 0.34
                else "千葉県" if r < 0.40 else rng.choice(OTHER_PREFS)
            )  # fmt: skip
            birth = (
                ""
                if rng.random() < 0.1
                else (dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(58 * 365))).isoformat()
            )
            s = rng.random()
            status = "following" if s < 0.6 else "blocked" if s < 0.7 else "none"
            has_line = status != "none"
            followed = ts(dt.datetime.fromtimestamp(now_s - rng.random() * 1000 * day, dt.UTC))
            last_visit = (
                ""
                if rng.random() < 0.05
                else ts(dt.datetime.fromtimestamp(now_s - rng.random() * 700 * day, dt.UTC))
            )
            cw.writerow([
                i, 1, f"C{i:08d}", f"顧客{i}", "", rng.choice(["male", "female", "female"]),
                birth, pref, f"user{i}@example.com", "", "{}", int(rng.random() < 0.95),
                f"U{i:032x}" if has_line else "", status, followed if has_line else "",
                "", "", "", "", last_visit, rng.randrange(40), rng.randrange(20),
                rng.randrange(200_000), created, created,
            ])  # fmt: skip
            for t, rate in enumerate(tag_rates, start=1):
                if rng.random() < rate:
                    tag_id += 1
                    added = ts(dt.datetime.fromtimestamp(now_s - rng.random() * 500 * day, dt.UTC))
                    tw.writerow([tag_id, i, t, added, "import"])
    with (work / "events.csv").open("w", newline="") as ef:
        ew = csv.writer(ef)
        props = {c: json.dumps({"category": c}, ensure_ascii=False) for c in CATEGORIES}
        for i in range(1, events + 1):
            k = rng.random()
            kind = "visit" if k < 0.5 else "purchase" if k < 0.9 else "cart"
            at = ts(dt.datetime.fromtimestamp(now_s - rng.random() * 730 * day, dt.UTC))
            prop = props[rng.choice(CATEGORIES)] if kind == "purchase" else "{}"
            amount = rng.randrange(500, 20000) if kind != "cart" else ""
            ew.writerow(
                [i, 1, rng.randrange(1, contacts + 1), kind, at, amount, prop, "import", created]
            )
    manifest.write_text(json.dumps(wanted))
    print(f"data: generated in {time.perf_counter() - started:.0f}s", file=sys.stderr)


# --- one database (a subprocess per engine, so Django binds to that DATABASE_URL) ---------
#
# The worker loads its database if needed, says it is ready, then answers commands read from
# stdin one per line ("count", "plan", "quit") with one JSON line on stdout prefixed REPLY.

REPLY = "@@bench@@ "
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/otodoke_bench"
DEFAULT_WORK = "/tmp/otodoke-bench"


def _reply(payload: dict[str, Any]) -> None:
    print(REPLY + json.dumps(payload, default=str), flush=True)


def worker(engine: str, work: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from otodoke.segments.services import count_segment
    from otodoke.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    manifest = json.loads((work / "manifest.json").read_text())
    marker = _marker(work, engine)
    load_seconds = None
    if not (
        marker.exists()
        and json.loads(marker.read_text()) == manifest
        and Workspace.objects.filter(slug="bench").exists()
    ):
        started = time.perf_counter()
        _load_all(engine, connection, work)
        load_seconds = time.perf_counter() - started
        marker.write_text(json.dumps(manifest))
    workspace = Workspace.objects.get(slug="bench")
    _reply({"ready": True, "load_seconds": load_seconds})
    for line in sys.stdin:
        command = line.strip()
        if command == "count":
            started = time.perf_counter()
            result = count_segment(workspace, SEGMENT, now=NOW)
            seconds = time.perf_counter() - started
            _reply({"seconds": seconds, "total": result.total, "reachable": result.reachable})
        elif command == "plan":
            _reply(_plan(engine, connection, workspace))
        elif command == "quit":
            return


def _marker(work: Path, engine: str) -> Path:
    return work / f"loaded-{engine}.json"


def _load_all(engine: str, connection: Any, work: Path) -> None:
    from otodoke.contacts.models import Contact, ContactTag, Event
    from otodoke.workspaces.models import Workspace

    # pk 1: the CSV files (and the DuckDB query) name workspace 1.
    Workspace.objects.create(
        pk=1,
        name="Bench",
        slug="bench",
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )
    models = [Contact, Event, ContactTag]
    with connection.schema_editor() as editor:
        for model in models:
            for index in model._meta.indexes:
                editor.remove_index(model, index)
    _load(engine, connection, work)
    with connection.schema_editor() as editor:
        for model in models:
            for index in model._meta.indexes:
                editor.add_index(model, index)
                print(f"{engine}: built index {index.name}", file=sys.stderr, flush=True)
    with connection.cursor() as cursor:
        # PostgreSQL: VACUUM as autovacuum would after a bulk import (statistics, plus the
        # visibility map that index-only scans need). SQLite: the statistics only.
        cursor.execute("VACUUM ANALYZE" if engine == "postgres" else "ANALYZE")


def _load(engine: str, connection: Any, work: Path) -> None:
    raw = connection.connection
    for table, (file_name, cols) in TABLES.items():
        names = [c for c, _ in cols]
        path = work / file_name
        started = time.perf_counter()
        if engine == "postgres":
            with raw.cursor() as cur:
                cur.execute("SET TIME ZONE 'UTC'")
                # Trusted generated rows: skip the per-row foreign-key triggers (a 10 M-row COPY
                # spent most of its time in them).
                cur.execute("SET session_replication_role = replica")
                with (
                    path.open("rb") as f,
                    cur.copy(
                        f"COPY {table} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, "
                        f"FORCE_NOT_NULL ({', '.join(c for c, n in cols if not n)}))"
                    ) as cp,
                ):
                    while chunk := f.read(1 << 20):
                        cp.write(chunk)
                cur.execute("SET session_replication_role = DEFAULT")
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            raw.commit()
        else:
            nullable = [n for _, n in cols]
            marks = ", ".join("?" for _ in cols)
            sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
            # A bulk load of trusted generated rows: no per-row foreign-key lookups, no journal.
            raw.commit()
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute("PRAGMA synchronous=OFF")
            with path.open(newline="") as f:
                rows = (
                    [None if (v == "" and nullable[i]) else v for i, v in enumerate(row)]
                    for row in csv.reader(f)
                )
                raw.executemany(sql, rows)
            raw.commit()
            raw.execute("PRAGMA foreign_keys=ON")
            raw.execute("PRAGMA synchronous=NORMAL")
        print(
            f"{engine}: loaded {table} in {time.perf_counter() - started:.0f}s",
            file=sys.stderr,
            flush=True,
        )


def _plan(engine: str, connection: Any, workspace: Any) -> dict[str, Any]:
    """The plan of the exact query count_segment() runs (captured, then explained)."""
    from otodoke.segments.services import count_segment

    captured: list[tuple[str, Any]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        captured.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        count_segment(workspace, SEGMENT, now=NOW)
    sql, params = captured[-1]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        shown = connection.ops.last_executed_query(cursor.cursor, sql, params)
        if engine == "postgres":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            info = []
            for setting in ("server_version", "shared_buffers", "work_mem", "jit"):
                cursor.execute(f"SHOW {setting}")
                info.append(f"{setting}={cursor.fetchone()[0]}")
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = "\n".join(" ".join(str(v) for v in row) for row in cursor.fetchall())
            cursor.execute("SELECT sqlite_version()")
            info = [f"sqlite_version={cursor.fetchone()[0]}"]
            for pragma in ("cache_size", "mmap_size", "journal_mode"):
                cursor.execute(f"PRAGMA {pragma}")
                info.append(f"{pragma}={cursor.fetchone()[0]}")
    return {"plan": plan, "sql": shown, "info": ", ".join(info)}


class Worker:
    """The driver's handle on one engine's worker subprocess."""

    def __init__(self, engine: str, work: Path, url: str) -> None:
        self.engine = engine
        env = {
            **os.environ,
            "SECRET_KEY": "bench",
            "DJANGO_SETTINGS_MODULE": "otodoke.settings",
            "OTODOKE_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=",
            "OTODOKE_DATA_DIR": str(work / "data"),
            "DATABASE_URL": url,
        }
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", engine, "--work", str(work)],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )  # fmt: skip

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                reply: dict[str, Any] = json.loads(line[len(REPLY) :])
                return reply
        sys.exit(f"{self.engine} worker exited ({self.proc.wait()}); see its stderr above")

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


# --- DuckDB -------------------------------------------------------------------------------


class DuckEngine:
    """Hand-written SQL for the same two numbers on the same rows, in DuckDB's memory."""

    engine = "duckdb"

    def __init__(self, work: Path) -> None:
        import duckdb

        self.version = duckdb.__version__
        started = time.perf_counter()
        self.db = duckdb.connect()
        for table, (file_name, cols) in TABLES.items():
            self.db.execute(
                f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header=false, "
                f"names={[c for c, _ in cols]!r}, auto_detect=true)",
                [str(work / file_name)],
            )
        self.load_seconds = time.perf_counter() - started
        # The same boundaries the ORM computes (Asia/Tokyo, start of local day), as naive UTC.
        tokyo = dt.timezone(dt.timedelta(hours=9))
        today = NOW.astimezone(tokyo).date()

        def day_start(d: dt.date) -> dt.datetime:
            return (
                dt.datetime.combine(d, dt.time.min, tzinfo=tokyo)
                .astimezone(dt.UTC)
                .replace(tzinfo=None)
            )

        self.params = [
            today.replace(year=today.year - 30),  # born on or before: at least 30
            today.replace(year=today.year - 40),  # born after: at most 39
            day_start(today - dt.timedelta(days=30)),
            (NOW - dt.timedelta(days=30)).replace(tzinfo=None),
            day_start(today - dt.timedelta(days=90)),
        ]

    sql = """
        SELECT count(*) AS total,
               count(*) FILTER (WHERE c.line_status = 'following' AND c.marketing_consent = 1
                                AND c.line_user_id IS NOT NULL) AS reachable
        FROM contacts_contact c
        WHERE c.workspace_id = 1
          AND c.birth_date <= ? AND c.birth_date > ?
          AND c.prefecture IN ('東京都', '神奈川県', '埼玉県', '千葉県')
          AND c.last_visit_at < ?
          AND c.total_spent >= 20000
          AND c.line_status = 'following' AND c.line_followed_at <= ?
          AND c.id IN (SELECT ct.contact_id FROM contacts_contacttag ct
                       JOIN contacts_tag t ON t.id = ct.tag_id WHERE t.name = 'line')
          AND c.id NOT IN (SELECT ct.contact_id FROM contacts_contacttag ct
                           JOIN contacts_tag t ON t.id = ct.tag_id WHERE t.name = '休眠')
          AND c.id IN (SELECT e.contact_id FROM contacts_event e
                       WHERE e.kind = 'purchase' AND e.occurred_at >= ?
                         AND json_extract_string(e.properties, '$.category') = 'シャンプー')
    """

    def ask(self, command: str) -> dict[str, Any]:
        if command == "count":
            started = time.perf_counter()
            row = self.db.execute(self.sql, self.params).fetchone()
            seconds = time.perf_counter() - started
            assert row is not None
            return {"seconds": seconds, "total": row[0], "reachable": row[1]}
        assert command == "plan"
        rows = self.db.execute("EXPLAIN ANALYZE " + self.sql, self.params).fetchall()
        threads = self.db.execute("SELECT current_setting('threads')").fetchone()
        return {
            "plan": "\n".join(str(r[-1]) for r in rows),
            "sql": self.sql.strip(),
            "info": f"duckdb {self.version}, threads={threads[0] if threads else '?'}",
        }

    def close(self) -> None:
        self.db.close()


# --- driver -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="sqlite,postgres,duckdb")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--work", default=DEFAULT_WORK)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "segments.md"))
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="timing phase only: use the SQLite file and PostgreSQL database a previous run "
        "loaded (fail rather than load)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    if args.worker:
        worker(args.worker, work)
        return
    generate(work, args.contacts, args.events)
    manifest = json.loads((work / "manifest.json").read_text())
    (work / "data").mkdir(exist_ok=True)
    engines: list[Worker | DuckEngine] = []
    load_seconds: dict[str, float | None] = {}
    names = args.engines.split(",")
    try:
        # Load phase: the database workers load side by side (they start together).
        for engine in names:
            if engine == "duckdb":
                continue
            url = args.pg_url if engine == "postgres" else f"sqlite:///{work / 'bench.sqlite3'}"
            marker = _marker(work, engine)
            if not (marker.exists() and json.loads(marker.read_text()) == manifest):
                if args.reuse:
                    sys.exit(f"--reuse: {engine} was not loaded with this data; run without it")
                _reset(engine, work, args.pg_url)
            engines.append(Worker(engine, work, url))
        for w in engines:
            ready = w.receive()
            load_seconds[w.engine] = ready["load_seconds"]
            print(f"== {w.engine} ready (load {ready['load_seconds']})", file=sys.stderr)
        if "duckdb" in names:
            duck = DuckEngine(work)
            load_seconds["duckdb"] = duck.load_seconds
            engines.append(duck)
        order = {name: i for i, name in enumerate(names)}
        engines.sort(key=lambda e: order[e.engine])
        # Timing phase: one warm-up round, then round-robin.
        loadavg_before = Path("/proc/loadavg").read_text().strip()
        warmup = {e.engine: e.ask("count") for e in engines}
        rounds: dict[str, list[dict[str, Any]]] = {e.engine: [] for e in engines}
        for i in range(args.runs):
            for e in engines:
                rounds[e.engine].append(e.ask("count"))
            print(f"round {i + 1}: " + ", ".join(
                f"{k} {v[-1]['seconds']:.3f}s" for k, v in rounds.items()
            ), file=sys.stderr, flush=True)  # fmt: skip
        loadavg_after = Path("/proc/loadavg").read_text().strip()
        plans = {e.engine: e.ask("plan") for e in engines}
    finally:
        for e in engines:
            e.close()
    write_report(
        Path(args.out),
        args,
        {
            "load_seconds": load_seconds,
            "loadavg_before": loadavg_before,
            "loadavg_after": loadavg_after,
            "warmup": warmup,
            "rounds": rounds,
            "plans": plans,
        },
    )


def _reset(engine: str, work: Path, pg_url: str) -> None:
    """Start this engine from an empty database: a half-loaded one is not worth keeping."""
    _marker(work, engine).unlink(missing_ok=True)
    if engine == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (work / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    base, name = pg_url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def write_report(path: Path, args: argparse.Namespace, result: dict[str, Any]) -> None:
    rounds: dict[str, list[dict[str, Any]]] = result["rounds"]
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in rounds.items()}
    duck_median = medians.get("duckdb")
    command = (
        f"python3 -m uv run python bench/segment_bench.py --contacts {args.contacts} "
        f"--events {args.events} --runs {args.runs}"
        + (f" --work {args.work}" if args.work != DEFAULT_WORK else "")
        + (f" --pg-url {args.pg_url}" if args.pg_url != DEFAULT_PG_URL else "")
        + (" --reuse" if args.reuse else "")
    )
    lines = [
        "# Segment count benchmark",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `{command}`",
        f"- data: {args.contacts:,} contacts, {args.events:,} events, 5 tags; machine: "
        f"{os.cpu_count()} CPUs (shared with other work; see the load average)",
        "- segment: age 30–39 + 4 prefectures + last visit before 30 days ago + spent ≥ ¥20,000 "
        "+ tag `line` + not tag `休眠` + a シャンプー purchase in 90 days + friend ≥ 30 days",
        "- question: `count_segment()`, i.e. the count and, in the same query, how many of them "
        "LINE would reach now (following, consenting, with a user ID)",
        f"- timing: all engines loaded first, one untimed warm-up round, then {args.runs} rounds "
        "round-robin (" + ", ".join(rounds) + ", …)",
        f"- load average (/proc/loadavg) before timing: `{result['loadavg_before']}`; "
        f"after: `{result['loadavg_after']}`",
        "",
        "| engine | count | reachable | median (s) | runs in order (s) | warm-up (s) "
        "| ratio vs DuckDB | load (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for engine, runs in rounds.items():
        median = medians[engine]
        ratio = f"{median / duck_median:.1f}×" if duck_median else "—"
        load = result["load_seconds"].get(engine)
        load_text = f"{load:.0f}" if load is not None else "reused"
        if engine == "duckdb":
            load_text += " (in memory, from CSV)"
        times = ", ".join(f"{r['seconds']:.3f}" for r in runs)
        last = runs[-1]
        lines.append(
            f"| {engine} | {last['total']} | {last['reachable']} | {median:.3f} | {times} "
            f"| {result['warmup'][engine]['seconds']:.3f} | {ratio} | {load_text} |"
        )
    answers = {(r["total"], r["reachable"]) for v in rounds.values() for r in v}
    lines += ["", f"Counts agree: {'yes' if len(answers) == 1 else 'NO: ' + str(answers)}", ""]
    for engine, plan in result["plans"].items():
        kind = "EXPLAIN QUERY PLAN" if engine == "sqlite" else "EXPLAIN ANALYZE"
        lines += [
            f"## {engine} plan ({kind})",
            "",
            f"{plan['info']}",
            "",
            "```",
            plan["plan"].rstrip(),
            "```",
            "",
            f"### {engine} SQL",
            "",
            "```sql",
            plan["sql"].strip(),
            "```",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else ""
    marker = "\n<!-- earlier runs -->\n"
    path.write_text(
        "\n".join(lines) + marker + existing.split(marker, 1)[-1]
        if marker in existing
        else "\n".join(lines)
    )
    print(path.read_text().split("## ")[0])


if __name__ == "__main__":
    main()
