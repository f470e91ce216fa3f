"""Benchmark LINE webhook ingest under a burst of simulated friends from the emulator.

    python3 -m uv run python bench/webhook_ingest.py                  # SQLite and PostgreSQL
    python3 -m uv run python bench/webhook_ingest.py --db sqlite --friends 1000 --runs 5

For each database: a fresh schema, one workspace wired to a LINE emulator (its own process,
`python -m line_emulator`, shared by the databases and emptied between them), Otodoke served by
`otodoke serve` and one `otodoke worker`, all running as they would in production. The default
run size (250 friends, 500 events, 3 runs per database) keeps the whole bench under about ten
minutes on a loaded 2-core machine; raise --friends on a quieter one.

Each run, the driver makes `--friends` new simulated friends act through the emulator's control
API, `--concurrency` at a time: each follows and then sends a text message. For every action the
emulator builds the event, signs the body with the channel secret (x-line-signature) and POSTs
it to Otodoke's webhook URL, like LINE; Otodoke checks the signature, stores the event and
answers, and the worker processes it (a follow fetches the friend's profile from the emulator).
The emulator redelivers webhooks that were not answered 2xx within its 2 s (LINE's timeout), and
the driver also asks it to redeliver a share of the deliveries (`--redeliver-share`), so
duplicates arrive as they do from LINE.

Measured per run: events stored per second (from the first action until every event of the run
was stored) and processed per second (until every one was processed), read straight from the
database. At the end, every event the emulator reports as posted (GET .../webhooks, all
attempts) is checked against the database: each stored exactly once, nothing missing, nothing
extra. Writes bench/results/webhook_ingest.md (or --out) with the median of the runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
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


def load_text() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for(url: str, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start")
        time.sleep(0.2)


@dataclass
class RunResult:
    friends: int
    events: int
    actions_seconds: float
    stored_seconds: float
    processed_seconds: float
    redeliveries_asked: int
    latencies_ms: list[float] = field(default_factory=list)
    failed_actions: int = 0

    @property
    def stored_per_s(self) -> float:
        return self.events / self.stored_seconds

    @property
    def processed_per_s(self) -> float:
        return self.events / self.processed_seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def burst(
    control: str, friends: int, concurrency: int, redeliver_share: float
) -> tuple[int, int, float, list[float], int]:
    """New friends follow and send a message through the emulator, `concurrency` at a time.

    Returns (events posted, redeliveries asked, seconds, action latencies, failed actions)."""
    user_ids = ["U" + secrets.token_hex(16) for _ in range(friends)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for user_id in user_ids:
        queue.put_nowait(user_id)
    latencies: list[float] = []
    deliveries: list[str] = []
    failed = 0
    events = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=control, timeout=60, limits=limits) as client:

        async def act(user_id: str, action: str, body: dict[str, Any]) -> None:
            nonlocal failed, events
            started = time.perf_counter()
            response = await client.post(f"/friends/{user_id}/{action}", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failed += 1
                return
            webhook = response.json()["webhook"]
            events += len(webhook["events"])
            deliveries.append(webhook["delivery_id"])

        async def friend_worker() -> None:
            while True:
                try:
                    user_id = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await act(user_id, "follow", {"display_name": f"ベンチ{user_id[-4:]}"})
                await act(user_id, "message", {"text": "予約できますか？"})

        started = time.perf_counter()
        await asyncio.gather(*(friend_worker() for _ in range(concurrency)))
        # LINE redelivers some events (same webhookEventId, isRedelivery true): ask for a share.
        every = round(1 / redeliver_share) if redeliver_share > 0 else 0
        asked = deliveries[::every] if every else []
        for start in range(0, len(asked), concurrency):
            chunk = asked[start : start + concurrency]
            await asyncio.gather(*(client.post(f"/webhooks/{d}/redeliver") for d in chunk))
        seconds = time.perf_counter() - started
    return events, len(asked), seconds, latencies, failed


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
        time.sleep(0.1)
    return stored_at or float("nan"), float("nan")


@dataclass
class DatabaseRun:
    label: str
    runs: list[RunResult]
    posted_ids: int
    attempts: int
    redelivery_attempts: int
    timed_out_attempts: int
    rows: int
    distinct: int
    missing: int
    extra: int
    statuses: dict[str, int]
    load_before: str
    load_after: str


def bench_database(kind: str, emulator_url: str, args: argparse.Namespace) -> DatabaseRun:
    data_dir = Path(tempfile.mkdtemp(prefix=f"otodoke-webhook-bench-{kind}-"))
    env = {
        **os.environ,
        **BENCH_KEYS,
        "OTODOKE_DATA_DIR": str(data_dir),
        "OTODOKE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    env["DATABASE_URL"] = fresh_database(kind, data_dir)
    load_before = load_text()
    began = time.perf_counter()

    def stage(text: str) -> None:
        print(f"{kind} [{time.perf_counter() - began:5.0f} s] {text}", flush=True)

    otodoke(env, "migrate", "--verbosity", "0")
    stage("migrated")
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    created = json.loads(
        otodoke(
            env,
            "workspace",
            "create",
            "--name",
            "Bench",
            "--slug",
            "bench",
            "--channel-id",
            CHANNEL_ID,
            "--channel-secret",
            SECRET,
            "--channel-access-token",
            TOKEN,
            "--api-base-url",
            emulator_url,
            "--json",
        )
    )
    webhook_url = web_url + urlsplit(created["webhook_url"]).path
    wait_for(f"{emulator_url}/_emulator/state", "the emulator")
    control = f"{emulator_url}/_emulator/channels/{CHANNEL_ID}"
    serve_cmd = [sys.executable, "-m", "otodoke", "serve", "--port", str(web_port)]
    worker_cmd = [sys.executable, "-m", "otodoke", "worker", "--interval", "0.2"]
    table = EventTable(kind, data_dir)
    runs: list[RunResult] = []
    # The emulator is shared by the databases' runs: empty it and point it at this server.
    httpx.post(f"{emulator_url}/_emulator/reset").raise_for_status()
    httpx.patch(
        f"{emulator_url}/_emulator/channels/{CHANNEL_ID}", json={"webhook_url": webhook_url}
    ).raise_for_status()
    # LINE's own behaviour: redeliver what was not answered 2xx within the timeout.
    httpx.put(
        f"{emulator_url}/_emulator/webhook-settings",
        json={"redelivery": True, "redelivery_attempts": 5, "redelivery_interval_seconds": 2},
    ).raise_for_status()
    with (
        process(serve_cmd, env, data_dir / "serve.log"),
        process(worker_cmd, env, data_dir / "worker.log"),
    ):
        wait_for(f"{web_url}/healthz", "otodoke serve")
        stage("otodoke serve answers")
        # Warm-up (imports, first connections, the worker's first poll): not timed.
        warm_events, *_ = asyncio.run(burst(control, 5, 2, 0.0))
        expected = warm_events
        wait_until(table, expected, time.perf_counter(), 120)
        stage("warmed up")
        for number in range(1, args.runs + 1):
            started = time.perf_counter()
            events, asked, seconds, latencies, failed = asyncio.run(
                burst(control, args.friends, args.concurrency, args.redeliver_share)
            )
            expected += events
            stored_s, processed_s = wait_until(table, expected, started, args.timeout)
            run = RunResult(
                args.friends, events, seconds, stored_s, processed_s, asked, latencies, failed
            )
            runs.append(run)
            print(
                f"{kind} run {number}: {events} events, actions {seconds:.1f} s, "
                f"stored {run.stored_per_s:.0f}/s, processed {run.processed_per_s:.0f}/s, "
                f"action p50 {run.pct(0.5):.0f} ms p95 {run.pct(0.95):.0f} ms, "
                f"failed actions {failed}, load {load_text()}",
                flush=True,
            )
        # Automatic redeliveries still in flight finish before the emulator's record is read.
        time.sleep(3)
        deliveries = httpx.get(f"{control}/webhooks", timeout=60).json()["deliveries"]
    stage("stopped")
    posted = [e["webhookEventId"] for d in deliveries for e in d["events"]]
    attempts = [a for d in deliveries for a in d["attempts"]]
    stored_ids = table.ids()
    stored_set, posted_set = set(stored_ids), set(posted)
    result = DatabaseRun(
        label="SQLite" if kind == "sqlite" else "PostgreSQL",
        runs=runs,
        posted_ids=len(posted_set),
        attempts=len(attempts),
        redelivery_attempts=sum(1 for a in attempts if a["is_redelivery"]),
        timed_out_attempts=sum(1 for a in attempts if a["error"] == "request_timeout"),
        rows=len(stored_ids),
        distinct=len(stored_set),
        missing=len(posted_set - stored_set),
        extra=len(stored_set - posted_set),
        statuses=table.statuses(),
        load_before=load_before,
        load_after=load_text(),
    )
    print(
        f"{kind}: emulator posted {result.posted_ids} distinct events in {result.attempts} "
        f"attempts ({result.redelivery_attempts} redeliveries, {result.timed_out_attempts} "
        f"timed out); stored {result.rows} rows, {result.distinct} distinct, "
        f"missing {result.missing}, extra {result.extra}; statuses {result.statuses}",
        flush=True,
    )
    return result


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(results: list[DatabaseRun], args: argparse.Namespace, command: str) -> str:
    lines = [
        "# Webhook ingest benchmark",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Command:",
        "",
        f"    {command}",
        "",
        f"Machine: {os.cpu_count()} CPUs, shared by the driver, the emulator, `otodoke serve` "
        "(1 process), one `otodoke worker`, the database and other people's work (see the "
        "load average).",
        "",
        f"Each run: {args.friends} new simulated friends, {args.concurrency} at a time, follow "
        "and then send a text message through the emulator's control API. The emulator signs "
        "every webhook body with the channel secret and POSTs it to Otodoke (one event per "
        "POST, as LINE does for one user's action), waits up to 2 s for the answer, and "
        "redelivers unanswered ones (every 2 s, up to 5 times); the driver also asks it to "
        f"redeliver {args.redeliver_share:.0%} of the deliveries. Otodoke verifies the "
        "signature, stores the event and answers; the worker processes it meanwhile (a follow "
        "fetches the profile from the emulator). Rates are the run's events divided by the "
        "time from the first action until all of them were stored / processed (read from the "
        f"database); medians of {args.runs} runs.",
        "",
        "| database | events per run | stored events/s (median) | processed events/s "
        "(median) | friend action p50 / p95 ms | runs (stored/s) | load before → after |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for result in results:
        runs = result.runs
        per_run = ", ".join(f"{r.stored_per_s:.0f}" for r in runs)
        lines.append(
            f"| {result.label} | {median([r.events for r in runs]):,.0f} | "
            f"{median([r.stored_per_s for r in runs]):,.0f} | "
            f"{median([r.processed_per_s for r in runs]):,.0f} | "
            f"{median([r.pct(0.5) for r in runs]):,.0f} / "
            f"{median([r.pct(0.95) for r in runs]):,.0f} | {per_run} | "
            f"{result.load_before} → {result.load_after} |"
        )
    lines += [
        "",
        "A friend action's time includes the emulator building and signing the event and "
        "Otodoke's answer to the webhook POST (or the emulator's 2 s timeout).",
        "",
        "## Nothing lost, nothing doubled",
        "",
        "Every event the emulator reports as posted (`GET /_emulator/channels/{id}/webhooks`: "
        "every delivery, every attempt, warm-up included) against the webhook event table:",
        "",
    ]
    for result in results:
        ok = result.missing == 0 and result.extra == 0 and result.rows == result.distinct
        ok = ok and result.distinct == result.posted_ids
        lines.append(
            f"- {result.label}: {result.posted_ids:,} distinct events posted in "
            f"{result.attempts:,} POSTs ({result.redelivery_attempts:,} redeliveries, "
            f"{result.timed_out_attempts:,} not answered within LINE's 2 s, then redelivered); "
            "stored "
            f"{result.rows:,} rows ({result.distinct:,} distinct), missing {result.missing}, "
            f"not posted {result.extra}; statuses {result.statuses} — **{'OK' if ok else 'FAIL'}**"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--friends", type=int, default=250, help="friends per run (2 events)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="friends acting at once")
    parser.add_argument("--redeliver-share", type=float, default=0.05)
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait per run")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "webhook_ingest.md"
    )
    args = parser.parse_args()
    results = []
    emulator_url = f"http://127.0.0.1:{free_port()}"
    emulator_cmd = [
        sys.executable,
        "-m",
        "line_emulator",
        "--port",
        emulator_url.rsplit(":", 1)[1],
        "--channel",
        f"{TOKEN}:{SECRET}:{CHANNEL_ID}",
        "--no-rate-limits",
        "--seed",
        "7",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    log = Path(tempfile.mkdtemp(prefix="otodoke-webhook-bench-")) / "emulator.log"
    # One emulator (its own process) for every database: it starts while the schema migrates.
    with process(emulator_cmd, env, log):
        if args.db in ("sqlite", "both"):
            results.append(bench_database("sqlite", emulator_url, args))
        if args.db in ("postgres", "both"):
            results.append(bench_database("postgres", emulator_url, args))
    command = "python3 -m uv run python bench/webhook_ingest.py " + " ".join(sys.argv[1:])
    text = report(results, args, command.strip())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    record(figures(results))
    print(text)


def figures(results: list[DatabaseRun]) -> list[Figure]:
    """Medians per database (`_sqlite`, `_postgres`), and the plain names from the last
    database measured (PostgreSQL when both ran), for bench/results/latest.json."""
    out: list[Figure] = []
    for result in results:
        runs = result.runs
        loads = {"load_before": result.load_before, "load_after": result.load_after}
        stored = round(median([r.stored_per_s for r in runs]), 1)
        processed = round(median([r.processed_per_s for r in runs]), 1)
        p99 = round(median([r.pct(0.99) for r in runs]), 1)
        suffix = "_sqlite" if result.label == "SQLite" else "_postgres"
        for tail in (suffix, ""):
            out.append(Figure(f"webhook_stored_per_s{tail}", stored, "events/s", 2000, **loads))
            out.append(
                Figure(f"webhook_processed_per_s{tail}", processed, "events/s", 1000, **loads)
            )
            # The friend action's time: the emulator builds and signs the event, then waits
            # for Otodoke's answer, so it bounds the answer time from above.
            unit = "ms (friend action, incl. the emulator's signing)"
            out.append(Figure(f"webhook_answer_p99_ms{tail}", p99, unit, 200, **loads))
    return out


if __name__ == "__main__":
    main()
