"""Benchmark the LINE webhook receiver: signed bursts at rising concurrency, nothing lost.

    python3 -m uv run python bench/webhook_ingest.py                 # SQLite and PostgreSQL
    python3 -m uv run python bench/webhook_ingest.py --db sqlite --requests 2000

For each database: a fresh schema (`otodoke migrate`), one workspace, and Otodoke served by
`otodoke serve` (uvicorn) in its own process. A driver signs webhook bodies exactly as LINE does
(base64 HMAC-SHA256 of the raw body with the channel secret) and posts them from an asyncio
client at each concurrency level. Every request carries fresh `webhookEventId`s (ULID-like);
a share of requests are redeliveries of an earlier body (same IDs, `isRedelivery: true`), as
LINE sends. Afterwards the stored rows are compared with what was sent: every ID must be stored
exactly once. Processing (the task worker) is not running: this measures ingest, the part that
must answer inside LINE's 2 s. Writes bench/results/webhook_ingest.md (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "otodoke_webhook_bench"
SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"  # noqa: S105 - a bench channel, not a secret
BENCH_KEYS = {
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "OTODOKE_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=",
}


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def new_event_id() -> str:
    return secrets.token_hex(13).upper()  # 26 chars like LINE's ULIDs; unique is what matters


def follow_event(user_id: str, *, redelivery: bool = False, event_id: str = "") -> dict[str, Any]:
    return {
        "type": "follow",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or new_event_id(),
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": secrets.token_hex(16),
        "follow": {"isUnblocked": False},
    }


def body_of(events: list[dict[str, Any]]) -> bytes:
    payload = {"destination": "U" + "0" * 32, "events": events}
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class LevelResult:
    concurrency: int
    requests: int
    events: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_level(
    url: str,
    concurrency: int,
    requests: int,
    events_per_request: int,
    redelivery_share: float,
    sent_ids: set[str],
) -> LevelResult:
    bodies: list[bytes] = []
    originals: list[list[dict[str, Any]]] = []
    for n in range(requests):
        every = round(1 / redelivery_share) if redelivery_share > 0 else 0
        if originals and every and n % every == 0:
            # A redelivery: the same events again, flagged; must not be stored twice.
            again = [{**e, "deliveryContext": {"isRedelivery": True}} for e in originals[-1]]
            bodies.append(body_of(again))
            continue
        events = [follow_event("U" + secrets.token_hex(16)) for _ in range(events_per_request)]
        originals.append(events)
        sent_ids.update(e["webhookEventId"] for e in events)
        bodies.append(body_of(events))
    result = LevelResult(concurrency, requests, 0, 0.0)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                headers = {"content-type": "application/json", "x-line-signature": sign(body)}
                started = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                if ok:
                    result.events += body.count(b'"webhookEventId"')
                else:
                    result.errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def otodoke(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "otodoke", *args], env=env, capture_output=True, text=True
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


def stored_counts(env: dict[str, str], sent: set[str]) -> tuple[int, int, int]:
    """(rows, distinct IDs, sent IDs missing), read through Django in a subprocess."""
    ids_file = Path(env["OTODOKE_DATA_DIR"]) / "sent_ids.json"
    ids_file.write_text(json.dumps(sorted(sent)))
    script = (
        "import json;from otodoke.line.models import WebhookEvent as W;"
        f"sent=set(json.load(open({str(ids_file)!r})));"
        "ids=list(W.objects.values_list('webhook_event_id',flat=True));"
        "print(json.dumps([len(ids),len(set(ids)),len(sent-set(ids))]))"
    )
    out = otodoke(env, "shell", "-c", script)
    rows, distinct, missing = json.loads(out.strip().splitlines()[-1])
    return rows, distinct, missing


@dataclass
class DatabaseRun:
    label: str
    levels: list[LevelResult]
    rows: int
    distinct: int
    missing: int
    sent: int


def bench_database(kind: str, web_workers: int, args: argparse.Namespace) -> DatabaseRun:
    data_dir = Path(tempfile.mkdtemp(prefix=f"otodoke-webhook-bench-{kind}-"))
    env = {
        **os.environ,
        **BENCH_KEYS,
        "OTODOKE_DATA_DIR": str(data_dir),
        "OTODOKE_LOG_LEVEL": "WARNING",
    }
    env["DATABASE_URL"] = fresh_database(kind, data_dir)
    otodoke(env, "migrate", "--verbosity", "0")
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
            "1000000001",
            "--channel-secret",
            SECRET,
            "--channel-access-token",
            "bench-token",
            "--api-base-url",
            "http://127.0.0.1:9",
            "--json",
        )
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otodoke",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(web_workers),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    url = base + urlsplit(created["webhook_url"]).path
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("otodoke serve did not start")
            time.sleep(0.2)
        # Warm-up (imports, first connections), not counted.
        warm: set[str] = set()
        asyncio.run(run_level(url, 4, 50, 1, 0.0, warm))
        sent: set[str] = set(warm)
        levels = []
        for concurrency in args.concurrency:
            level = asyncio.run(
                run_level(url, concurrency, args.requests, args.events, args.redelivery_share, sent)
            )
            levels.append(level)
            print(
                f"{kind} w{web_workers} c={concurrency:>3}: {level.events_per_s:8.0f} events/s "
                f"p50 {level.pct(0.5):6.1f} ms p95 {level.pct(0.95):6.1f} ms "
                f"errors {level.errors}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=20)
    rows, distinct, missing = stored_counts(env, sent)
    print(
        f"{kind} w{web_workers}: sent {len(sent)} IDs, stored {rows} rows, {distinct} distinct, "
        f"missing {missing}",
        flush=True,
    )
    label = f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}, {web_workers} web process(es)"
    return DatabaseRun(label, levels, rows, distinct, missing, len(sent))


def report(runs: list[DatabaseRun], args: argparse.Namespace, command: str) -> str:
    lines = [
        "# Webhook ingest benchmark",
        "",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs (driver and server share them). Each level sends "
        f"{args.requests} signed POSTs of {args.events} event(s); about "
        f"{args.redelivery_share:.0%} of them are redeliveries of an earlier body. The server "
        "verifies the signature, stores every event raw in one transaction with "
        "`bulk_create(ignore_conflicts=True)` and enqueues a processing task after commit, then "
        "answers 200. No worker runs during the burst (ingest only).",
        "",
        "| database | concurrency | events/s accepted | requests/s | p50 ms | p95 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        for level in run.levels:
            lines.append(
                f"| {run.label} | {level.concurrency} | {level.events_per_s:,.0f} | "
                f"{level.requests / level.seconds:,.0f} | {level.pct(0.5):.1f} | "
                f"{level.pct(0.95):.1f} | {level.errors} |"
            )
    lines += ["", "Nothing lost, nothing doubled (checked in the database after each run):", ""]
    for run in runs:
        verdict = "OK" if run.missing == 0 and run.rows == run.distinct == run.sent else "FAIL"
        lines.append(
            f"- {run.label}: sent {run.sent:,} distinct event IDs, stored {run.rows:,} rows "
            f"({run.distinct:,} distinct), missing {run.missing} — **{verdict}**"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--requests", type=int, default=1000, help="POSTs per level")
    parser.add_argument("--events", type=int, default=1, help="events per POST")
    parser.add_argument("--redelivery-share", type=float, default=0.05)
    parser.add_argument(
        "--pg-web-workers", type=int, nargs="+", default=[1, 2], help="uvicorn processes"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "webhook_ingest.md"
    )
    args = parser.parse_args()
    runs = []
    if args.db in ("sqlite", "both"):
        runs.append(bench_database("sqlite", 1, args))
    if args.db in ("postgres", "both"):
        for workers in args.pg_web_workers:
            runs.append(bench_database("postgres", workers, args))
    command = "python3 -m uv run python bench/webhook_ingest.py " + " ".join(sys.argv[1:])
    text = report(runs, args, command.strip())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
