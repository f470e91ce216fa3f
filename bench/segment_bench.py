"""Segment count benchmark: Otodoke's ORM query on SQLite and PostgreSQL vs hand-written DuckDB SQL.

Run by hand (not part of the test suite):

    python3 -m uv run python bench/segment_bench.py                      # 1M contacts, 10M events
    python3 -m uv run python bench/segment_bench.py --contacts 200000 --events 2000000

One deterministic data set is generated as CSV into --work, then loaded straight into each
database (COPY on PostgreSQL, executemany in one transaction on SQLite; secondary indexes are
dropped during the load and rebuilt after), and read by DuckDB with read_csv. Each engine
counts the same compound segment; the counts must agree. Medians of --runs runs go into
--out (bench/results/segments.md) with the command, date, sizes and the query plans.

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


# --- one database (run in a subprocess so Django binds to that DATABASE_URL) ---------------


def worker(engine: str, work: Path, runs: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from otodoke.contacts.models import Contact, ContactTag, Event
    from otodoke.segments.services import contacts_matching, count_segment
    from otodoke.workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    manifest = json.loads((work / "manifest.json").read_text())
    load_seconds = None
    if (
        not Workspace.objects.filter(slug="bench").exists()
        or Contact.objects.count() != manifest["contacts"]
    ):
        started = time.perf_counter()
        Workspace.objects.all().delete()
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
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        load_seconds = time.perf_counter() - started
    workspace = Workspace.objects.get(slug="bench")
    timings, total = [], None
    for _ in range(runs):
        started = time.perf_counter()
        total = count_segment(workspace, SEGMENT, now=NOW).total
        timings.append(time.perf_counter() - started)
    qs = contacts_matching(workspace, SEGMENT, now=NOW).values("pk")
    plan = qs.explain(analyze=True) if engine == "postgres" else qs.explain()
    sql = str(qs.query)
    return {
        "engine": engine,
        "count": total,
        "timings": timings,
        "load_seconds": load_seconds,
        "plan": plan,
        "sql": sql,
    }


def _load(engine: str, connection: Any, work: Path) -> None:
    raw = connection.connection
    for table, (file_name, cols) in TABLES.items():
        names = [c for c, _ in cols]
        path = work / file_name
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
        print(f"{engine}: loaded {table}", file=sys.stderr)


# --- DuckDB -------------------------------------------------------------------------------


def duckdb_run(work: Path, runs: int) -> dict[str, Any]:
    import duckdb

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otodoke.settings")
    db = duckdb.connect()
    for table, (file_name, cols) in TABLES.items():
        db.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header=false, "
            f"names={[c for c, _ in cols]!r}, auto_detect=true)",
            [str(work / file_name)],
        )
    # The same boundaries the ORM computes (Asia/Tokyo, start of local day), as naive UTC.
    tokyo = dt.timezone(dt.timedelta(hours=9))
    today = NOW.astimezone(tokyo).date()

    def day_start(d: dt.date) -> dt.datetime:
        return (
            dt.datetime.combine(d, dt.time.min, tzinfo=tokyo)
            .astimezone(dt.UTC)
            .replace(tzinfo=None)
        )

    born_by = today.replace(year=today.year - 30)
    born_after = today.replace(year=today.year - 40)
    params = [
        born_by, born_after, day_start(today - dt.timedelta(days=30)),
        (NOW - dt.timedelta(days=30)).replace(tzinfo=None),
        day_start(today - dt.timedelta(days=90)),
    ]  # fmt: skip
    sql = """
        SELECT count(*) FROM contacts_contact c
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
    bound = [params[0], params[1], params[2], params[3], params[4]]
    timings, total = [], None
    for _ in range(runs):
        started = time.perf_counter()
        total = db.execute(sql, bound).fetchone()[0]  # type: ignore[index]
        timings.append(time.perf_counter() - started)
    return {"engine": "duckdb", "count": total, "timings": timings, "sql": sql}


# --- driver -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default="sqlite,postgres,duckdb")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/otodoke_bench")
    parser.add_argument("--work", default="/tmp/otodoke-bench")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "segments.md"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = Path(args.work)
    if args.worker:
        print(json.dumps(worker(args.worker, work, args.runs), default=str))
        return
    generate(work, args.contacts, args.events)
    results = []
    for engine in args.engines.split(","):
        print(f"== {engine}", file=sys.stderr)
        if engine == "duckdb":
            results.append(duckdb_run(work, args.runs))
            continue
        env = {
            **os.environ,
            "SECRET_KEY": "bench",
            "DJANGO_SETTINGS_MODULE": "otodoke.settings",
            "OTODOKE_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=",
            "OTODOKE_DATA_DIR": str(work / "data"),
            "DATABASE_URL": (
                args.pg_url if engine == "postgres" else f"sqlite:///{work / 'bench.sqlite3'}"
            ),
        }
        (work / "data").mkdir(exist_ok=True)
        if engine == "postgres":
            _ensure_pg_database(args.pg_url)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", engine, "--work", str(work),
             "--runs", str(args.runs)],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode != 0:
            sys.exit(f"{engine} worker failed:\n{out.stderr[-3000:]}")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    write_report(Path(args.out), args, results)


def _ensure_pg_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def write_report(path: Path, args: argparse.Namespace, results: list[dict[str, Any]]) -> None:
    duck = next((r for r in results if r["engine"] == "duckdb"), None)
    duck_median = statistics.median(duck["timings"]) if duck else None
    lines = [
        "# Segment count benchmark",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `python3 -m uv run python bench/segment_bench.py --contacts {args.contacts} "
        f"--events {args.events} --runs {args.runs}`",
        f"- data: {args.contacts:,} contacts, {args.events:,} events, 5 tags; machine: "
        f"{os.cpu_count()} CPUs",
        "- segment: age 30–39 + 4 prefectures + last visit before 30 days ago + spent ≥ ¥20,000 "
        "+ tag `line` + not tag `休眠` + a シャンプー purchase in 90 days + friend ≥ 30 days",
        "",
        "| engine | count | median (s) | runs (s) | ratio vs DuckDB | load (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        median = statistics.median(r["timings"])
        ratio = f"{median / duck_median:.1f}×" if duck_median else "—"
        load = f"{r['load_seconds']:.0f}" if r.get("load_seconds") else "reused"
        if r["engine"] == "duckdb":
            load = "(in-memory from CSV)"
        runs = ", ".join(f"{t:.3f}" for t in r["timings"])
        lines.append(f"| {r['engine']} | {r['count']} | {median:.3f} | {runs} | {ratio} | {load} |")
    counts = {r["count"] for r in results}
    lines += ["", f"Counts agree: {'yes' if len(counts) == 1 else 'NO: ' + str(counts)}", ""]
    for r in results:
        if r.get("plan"):
            lines += [f"## {r['engine']} plan", "", "```", str(r["plan"]), "```", ""]
    orm_sql = next((r["sql"] for r in results if r["engine"] != "duckdb"), "")
    lines += ["## ORM SQL (PostgreSQL or SQLite)", "", "```sql", orm_sql, "```", ""]
    if duck:
        lines += ["## DuckDB SQL", "", "```sql", duck["sql"].strip(), "```", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else ""
    marker = "\n<!-- earlier runs -->\n"
    path.write_text(
        "\n".join(lines) + marker + existing.split(marker, 1)[-1] if existing else "\n".join(lines)
    )
    print(path.read_text().split("## ")[0])


if __name__ == "__main__":
    main()
