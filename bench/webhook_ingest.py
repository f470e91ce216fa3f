"""Benchmark LINE webhook ingest: a real burst of signed POSTs, stored and processed.

    python3 -m uv run python bench/webhook_ingest.py                  # SQLite and PostgreSQL
    python3 -m uv run python bench/webhook_ingest.py --db sqlite --friends 2000 --runs 3

For each database: a fresh schema, one workspace whose LINE API is an emulator (its own process,
`python -m line_emulator`, with LINE's rate limits, shared by the databases), Otodoke served by
`otodoke serve --workers N` (uvicorn, the ASGI app with the webhook fast path) and one
`otodoke worker` draining the webhooks lane with several threads, all as in production.

Each run, `--friends` friends (already known to the emulator, so a follow's profile fetch
succeeds) each follow, send a text message and tap a postback: three events, one per POST as
LINE sends one user's action. The driver signs every body with the channel secret beforehand
(x-line-signature, untimed) and then fires them at Otodoke's webhook URL `--concurrency` at a
time (aiohttp); it also redelivers a share of them (`--redeliver-share`: same webhookEventId,
`isRedelivery: true`), and re-POSTs anything not answered 200, as LINE does. Measured per run,
from the first POST: seconds until every event was stored and until every one was processed
(read from the database), and each POST's answer time. At the end every event posted is
checked against the database: stored exactly once, nothing missing, nothing extra, all
processed, one contact per friend with the emulator's profile name.

`--compare` also runs the same burst with OTODOKE_WEBHOOK_FAST_PATH=0 (the webhook through
Django's whole middleware stack), side by side in the same run.
Writes bench/results/webhook_ingest.md (or --out) and bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import psycopg
from benchkit import free_port, load_text, process, wait_for
from latest import Figure, record

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "otodoke_webhook_bench"
CHANNEL_ID = "1000000001"
SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"  # noqa: S105 - a bench channel, not a secret
TOKEN = "bench-channel-access-token"  # noqa: S105
BENCH_KEYS = {
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "OTODOKE_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=",
}


def signature_for(secret: str, body: bytes) -> str:
    """x-line-signature, as LINE computes it (and otodoke.line.services checks it)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def otodoke(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "otodoke", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"otodoke {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def fresh_database(kind: str, data_dir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{data_dir / 'bench.sqlite3'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")
    return f"postgres://postgres@127.0.0.1:5432/{PG_DB}"


class EventTable:
    """Reads Otodoke's webhook event table directly (cheap enough to poll during a run)."""

    def __init__(self, kind: str, data_dir: Path) -> None:
        self.kind = kind
        self.path = data_dir / "bench.sqlite3"

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()
        with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{PG_DB}") as conn:
            return list(conn.execute(sql).fetchall())

    def counts(self) -> tuple[int, int]:
        """(rows stored, rows finished processing)."""
        ((stored, finished),) = self._rows(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN ('processed', 'ignored') "
            "THEN 1 ELSE 0 END), 0) FROM line_webhookevent"
        )
        return int(stored), int(finished)

    def ids(self) -> list[str]:
        return [row[0] for row in self._rows("SELECT webhook_event_id FROM line_webhookevent")]

    def statuses(self) -> dict[str, int]:
        rows = self._rows("SELECT status, COUNT(*) FROM line_webhookevent GROUP BY status")
        return {str(status): int(n) for status, n in rows}


def user_id(run: int, n: int) -> str:
    return f"U{run:04x}{n:028x}"


def run_events(run: int, friends: int, t0_ms: int) -> list[dict[str, Any]]:
    """Every friend follows, then messages, then taps a postback (in that order in the burst)."""
    events: list[dict[str, Any]] = []
    for kind in ("follow", "message", "postback"):
        for n in range(friends):
            uid = user_id(run, n)
            event: dict[str, Any] = {
                "type": kind,
                "mode": "active",
                "timestamp": t0_ms + len(events),
                "webhookEventId": f"01B{run:03d}{kind[0].upper()}{n:09d}",
                "source": {"type": "user", "userId": uid},
                "deliveryContext": {"isRedelivery": False},
                "replyToken": f"r{run}{kind[0]}{n}",
            }
            if kind == "follow":
                event["follow"] = {"isUnblocked": False}
            elif kind == "message":
                event["message"] = {"type": "text", "id": f"{run}{n}", "text": "予約できますか？"}
            else:
                event["postback"] = {"data": f"action=book&slot={n % 12}"}
            events.append(event)
    return events


def signed_bodies(events: list[dict[str, Any]], redeliver_share: float) -> list[tuple[bytes, str]]:
    bodies = []
    for event in events:
        body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}).encode()
        bodies.append((body, signature_for(SECRET, body)))
    # Redeliveries of a share of the events, mixed in after their first delivery.
    rng = random.Random(7)
    again = rng.sample(events, int(len(events) * redeliver_share))
    for event in again:
        copy = {**event, "deliveryContext": {"isRedelivery": True}}
        body = json.dumps({"destination": "U" + "0" * 32, "events": [copy]}).encode()
        at = rng.randrange(events.index(event) + 1, len(bodies) + 1)
        bodies.insert(at, (body, signature_for(SECRET, body)))
    return bodies


@dataclass
class Burst:
    seconds: float
    latencies_ms: list[float]
    posts: int
    reposted: int


async def fire(url: str, bodies: list[tuple[bytes, str]], concurrency: int) -> Burst:
    """POST every body, `concurrency` at a time; anything not answered 200 is POSTed again
    (LINE's redelivery), counted in `reposted`."""
    latencies: list[float] = []
    reposted = 0
    queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            nonlocal reposted
            while not queue.empty():
                body, signature = queue.get_nowait()
                headers = {"content-type": "application/json", "x-line-signature": signature}
                while True:
                    started = time.perf_counter()
                    try:
                        async with session.post(url, data=body, headers=headers) as response:
                            await response.read()
                            ok = response.status == 200
                    except (aiohttp.ClientError, TimeoutError):
                        ok = False
                    latencies.append((time.perf_counter() - started) * 1000)
                    if ok:
                        break
                    reposted += 1
                    await asyncio.sleep(0.5)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return Burst(seconds, latencies, len(bodies), reposted)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class RunResult:
    events: int
    posts: int
    reposted: int
    burst_seconds: float
    stored_seconds: float
    processed_seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def stored_per_s(self) -> float:
        return self.events / self.stored_seconds

    @property
    def processed_per_s(self) -> float:
        return self.events / self.processed_seconds


def wait_until(
    table: EventTable, target: int, started: float, timeout: float
) -> tuple[float, float]:
    """Poll until `target` rows are stored and finished; (seconds to stored, to processed)."""
    stored_at = 0.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stored, finished = table.counts()
        now = time.perf_counter() - started
        if not stored_at and stored >= target:
            stored_at = now
        if finished >= target:
            return stored_at or now, now
        time.sleep(0.05)
    return stored_at or float("nan"), float("nan")


@dataclass
class DatabaseRun:
    label: str
    path: str
    runs: list[RunResult]
    posted: int
    rows: int
    distinct: int
    missing: int
    extra: int
    statuses: dict[str, int]
    contacts: int
    named: int
    load_before: str
    load_after: str

    @property
    def ok(self) -> bool:
        return (
            self.missing == 0
            and self.extra == 0
            and self.rows == self.distinct == self.posted
            and self.statuses == {"processed": self.posted}
        )


def add_friends(control: str, run: int, friends: int) -> None:
    for start in range(0, friends, 1000):
        chunk = [
            {"user_id": user_id(run, n), "display_name": f"ベンチ{run}-{n}"}
            for n in range(start, min(friends, start + 1000))
        ]
        httpx.post(f"{control}/friends", json={"friends": chunk}, timeout=60).raise_for_status()


def bench_database(
    kind: str, fast_path: bool, emulator_url: str, args: argparse.Namespace
) -> DatabaseRun:
    data_dir = Path(tempfile.mkdtemp(prefix=f"otodoke-webhook-bench-{kind}-"))
    env = {
        **os.environ,
        **BENCH_KEYS,
        "OTODOKE_DATA_DIR": str(data_dir),
        "OTODOKE_LOG_LEVEL": "WARNING",
        "OTODOKE_WEBHOOK_FAST_PATH": "1" if fast_path else "0",
        "PYTHONPATH": str(ROOT / "src"),
    }
    env["DATABASE_URL"] = fresh_database(kind, data_dir)
    path = "fast path" if fast_path else "through Django"
    label = ("SQLite" if kind == "sqlite" else "PostgreSQL") + f", {path}"
    load_before = load_text()
    began = time.perf_counter()

    def stage(text: str) -> None:
        print(f"{label} [{time.perf_counter() - began:5.0f} s] {text}", flush=True)

    otodoke(env, "migrate", "--verbosity", "0")
    stage("migrated")
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    created = json.loads(
        otodoke(
            env, "workspace", "create", "--name", "Bench", "--slug", "bench",
            "--channel-id", CHANNEL_ID, "--channel-secret", SECRET,
            "--channel-access-token", TOKEN, "--api-base-url", emulator_url, "--json",
        )
    )  # fmt: skip
    webhook_url = web_url + urlsplit(created["webhook_url"]).path
    control = f"{emulator_url}/_emulator/channels/{CHANNEL_ID}"
    httpx.post(f"{emulator_url}/_emulator/reset").raise_for_status()
    serve_cmd = [
        sys.executable, "-m", "otodoke", "serve", "--port", str(web_port),
        "--workers", str(args.web_workers),
    ]  # fmt: skip
    worker_cmd = [
        sys.executable, "-m", "otodoke", "worker", "--interval", "0.1",
        "--queues", "webhooks,default", "--threads", str(args.drainers),
    ]  # fmt: skip
    table = EventTable(kind, data_dir)
    runs: list[RunResult] = []
    posted: set[str] = set()
    with (
        process(serve_cmd, env, data_dir / "serve.log"),
        process(worker_cmd, env, data_dir / "worker.log"),
    ):
        wait_for(f"{web_url}/healthz", "otodoke serve", timeout=600)
        stage("otodoke serve answers")
        # Warm-up (every web process's imports and first connections, the worker's first
        # poll): not timed.
        add_friends(control, 0, 20)
        warm = run_events(0, 20, 1_700_000_000_000)
        asyncio.run(fire(webhook_url, signed_bodies(warm, 0.0), 8))
        posted |= {e["webhookEventId"] for e in warm}
        wait_until(table, len(posted), time.perf_counter(), 120)
        stage("warmed up")
        for number in range(1, args.runs + 1):
            add_friends(control, number, args.friends)
            events = run_events(number, args.friends, 1_700_000_000_000 + number * 10_000_000)
            bodies = signed_bodies(events, args.redeliver_share)
            posted |= {e["webhookEventId"] for e in events}
            started = time.perf_counter()
            burst = asyncio.run(fire(webhook_url, bodies, args.concurrency))
            stored_s, processed_s = wait_until(table, len(posted), started, args.timeout)
            run = RunResult(
                len(events), burst.posts, burst.reposted, burst.seconds, stored_s, processed_s,
                pct(burst.latencies_ms, 0.5), pct(burst.latencies_ms, 0.99),
            )  # fmt: skip
            runs.append(run)
            print(
                f"{label} run {number}: {len(events)} events in {burst.posts} POSTs "
                f"({burst.reposted} re-POSTed), burst {burst.seconds:.2f} s, "
                f"stored {run.stored_per_s:.0f}/s, processed {run.processed_per_s:.0f}/s, "
                f"answer p50 {run.p50_ms:.0f} ms p99 {run.p99_ms:.0f} ms, load {load_text()}",
                flush=True,
            )
    stage("stopped")
    stored_ids = table.ids()
    stored_set = set(stored_ids)
    contacts, named = contact_counts(kind, data_dir)
    result = DatabaseRun(
        label=label,
        path=path,
        runs=runs,
        posted=len(posted),
        rows=len(stored_ids),
        distinct=len(stored_set),
        missing=len(posted - stored_set),
        extra=len(stored_set - posted),
        statuses=table.statuses(),
        contacts=contacts,
        named=named,
        load_before=load_before,
        load_after=load_text(),
    )
    print(
        f"{label}: posted {result.posted} distinct events; stored {result.rows} rows, "
        f"{result.distinct} distinct, missing {result.missing}, extra {result.extra}; "
        f"statuses {result.statuses}; contacts {contacts} ({named} with a profile name)",
        flush=True,
    )
    return result


def contact_counts(kind: str, data_dir: Path) -> tuple[int, int]:
    sql = (
        "SELECT COUNT(*), SUM(CASE WHEN line_display_name <> '' THEN 1 ELSE 0 END) "
        "FROM contacts_contact"
    )
    if kind == "sqlite":
        conn = sqlite3.connect(f"file:{data_dir / 'bench.sqlite3'}?mode=ro", uri=True)
        try:
            total, named = conn.execute(sql).fetchone()
        finally:
            conn.close()
    else:
        with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{PG_DB}") as pg:
            total, named = pg.execute(sql).fetchone() or (0, 0)
    return int(total), int(named or 0)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: list[DatabaseRun], args: argparse.Namespace, command: str, commit: str) -> str:
    lines = [
        "# Webhook ingest benchmark",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}. Command:",
        "",
        f"    {command}",
        "",
        f"Machine: {os.cpu_count()} CPUs, shared by the driver, the emulator, `otodoke serve "
        f"--workers {args.web_workers}` (uvicorn), one `otodoke worker` ({args.drainers} "
        "threads on the webhooks lane), the database and other people's work (see the load "
        "average).",
        "",
        f"Each run: {args.friends:,} friends each follow, send a text and tap a postback "
        f"({3 * args.friends:,} events, one per POST as LINE sends one user's action), plus "
        f"{args.redeliver_share:.0%} of them redelivered (same `webhookEventId`, "
        "`isRedelivery: true`) mixed into the burst. The driver signs every body with the "
        "channel secret beforehand and fires them at the webhook URL "
        f"{args.concurrency} at a time (aiohttp), re-POSTing anything not answered 200. "
        "Otodoke verifies each signature, stores the event and answers; the worker drains "
        "meanwhile (a follow creates the contact and fetches its profile from the emulator, "
        "within LINE's rate limit). Stored/s and processed/s: the run's events divided by the "
        "time from the first POST until all of them were stored / processed (read from the "
        "database). Answer times: every POST, as the driver saw them. Medians of "
        f"{args.runs} runs.",
        "",
        "| database, webhook path | events per run | stored events/s | processed events/s "
        "| answer p50 / p99 ms | re-POSTed | runs (stored/s, processed/s) | "
        "load before → after |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for result in results:
        runs = result.runs
        per_run = "; ".join(f"{r.stored_per_s:.0f}, {r.processed_per_s:.0f}" for r in runs)
        lines.append(
            f"| {result.label} | {median([r.events for r in runs]):,.0f} | "
            f"{median([r.stored_per_s for r in runs]):,.0f} | "
            f"{median([r.processed_per_s for r in runs]):,.0f} | "
            f"{median([r.p50_ms for r in runs]):,.0f} / "
            f"{median([r.p99_ms for r in runs]):,.0f} | "
            f"{sum(r.reposted for r in runs)} | {per_run} | "
            f"{result.load_before} → {result.load_after} |"
        )
    lines += [
        "",
        "## Nothing lost, nothing doubled",
        "",
        "Every event posted (warm-up included) against the webhook event table and contacts:",
        "",
    ]
    for result in results:
        lines.append(
            f"- {result.label}: {result.posted:,} distinct events posted; stored "
            f"{result.rows:,} rows ({result.distinct:,} distinct), missing {result.missing}, "
            f"not posted {result.extra}; statuses {result.statuses}; {result.contacts:,} "
            f"contacts, {result.named:,} with their LINE profile name — "
            f"**{'OK' if result.ok else 'FAIL'}**"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--friends", type=int, default=2000, help="friends per run (3 events)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64, help="POSTs in flight")
    parser.add_argument("--web-workers", type=int, default=2, help="otodoke serve --workers")
    parser.add_argument("--drainers", type=int, default=2, help="worker threads per lane")
    parser.add_argument("--redeliver-share", type=float, default=0.05)
    parser.add_argument("--compare", action="store_true", help="also through Django's stack")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait per run")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "webhook_ingest.md"
    )
    args = parser.parse_args()
    results = []
    emulator_url = f"http://127.0.0.1:{free_port()}"
    emulator_cmd = [
        sys.executable, "-m", "line_emulator", "--port", emulator_url.rsplit(":", 1)[1],
        "--channel", f"{TOKEN}:{SECRET}:{CHANNEL_ID}", "--seed", "7",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = Path(tempfile.mkdtemp(prefix="otodoke-webhook-bench-")) / "emulator.log"
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with process(emulator_cmd, env, log):
        wait_for(f"{emulator_url}/_emulator/state", "the emulator")
        for kind in kinds:
            results.append(bench_database(kind, True, emulator_url, args))
            if args.compare:
                results.append(bench_database(kind, False, emulator_url, args))
    from latest import command_line, commit

    text = report(results, args, command_line(), commit())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    record(figures(results))
    print(text)


def figures(results: list[DatabaseRun]) -> list[Figure]:
    """Medians per database (`_sqlite`, `_postgres`) on the fast path, and the plain names
    from the last database measured (PostgreSQL when both ran), for latest.json."""
    out: list[Figure] = []
    for result in results:
        if result.path != "fast path":
            continue
        runs = result.runs
        loads = {"load_before": result.load_before, "load_after": result.load_after}
        stored = round(median([r.stored_per_s for r in runs]), 1)
        processed = round(median([r.processed_per_s for r in runs]), 1)
        p99 = round(median([r.p99_ms for r in runs]), 1)
        suffix = "_sqlite" if result.label.startswith("SQLite") else "_postgres"
        for tail in (suffix, ""):
            out.append(Figure(f"webhook_stored_per_s{tail}", stored, "events/s", 2000, **loads))
            out.append(
                Figure(f"webhook_processed_per_s{tail}", processed, "events/s", 1000, **loads)
            )
            out.append(
                Figure(f"webhook_answer_p99_ms{tail}", p99, "ms (POST answer)", 200, **loads)
            )
        out.append(
            Figure(f"webhook_lost_or_doubled{suffix}", float(result.missing + result.extra
                   + result.rows - result.distinct), "events", 0, **loads)
        )  # fmt: skip
    return out


if __name__ == "__main__":
    main()
