"""Benchmark bulk event ingest through the REST API on PostgreSQL, in events per second.

    python3 -m uv run python bench/api_ingest.py                       # 100,000 events
    python3 -m uv run python bench/api_ingest.py --events 20000 --contacts 2000

A fresh database (`otodoke migrate`), one workspace and an API token made with the CLI
(`otodoke api-token create --json`, a high rate limit so the bench measures ingest, not the
throttle), and Otodoke served by `otodoke serve` (uvicorn) in its own process(es). Contacts are
created through `POST /api/v1/contacts/bulk`, then events (purchases with unique external IDs,
spread over the contacts) are posted to `POST /api/v1/events/bulk` in batches of 1,000 at each
concurrency level. Every event must come back `ok`; the stored row count is checked at the end.
Rollups are recomputed inside each request, so this is the full cost a POS integration sees.
Writes bench/results/api_ingest.md (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "otodoke_api_bench"
BENCH_KEYS = {
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "OTODOKE_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=",
}
BATCH = 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        **BENCH_KEYS,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{PG_DB}",
        "OTODOKE_DATA_DIR": data_dir,
        "OTODOKE_LOG_LEVEL": "WARNING",
    }


def otodoke(e: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "otodoke", *args], env=e, check=True, capture_output=True
    )
    return out.stdout.decode()


def fresh_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def events_for(start: int, count: int, contacts: int) -> list[dict[str, Any]]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        {
            "external_id": f"E{i}",
            "contact_external_id": f"C{i % contacts}",
            "kind": "purchase" if i % 3 else "visit",
            "occurred_at": (base + timedelta(minutes=i)).isoformat(),
            "amount": 500 + i % 5000,
        }
        for i in range(start, start + count)
    ]


async def post_all(
    client: httpx.AsyncClient, path: str, key: str, batches: list[list[Any]], concurrency: int
) -> int:
    queue: asyncio.Queue[list[Any]] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    failed = 0

    async def worker() -> None:
        nonlocal failed
        while not queue.empty():
            batch = queue.get_nowait()
            response = await client.post(path, json={key: batch})
            response.raise_for_status()
            failed += response.json()["failed"]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failed


async def drive(base: str, token: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
        contacts = [{"external_id": f"C{i}", "name": f"客{i}"} for i in range(args.contacts)]
        batches = [contacts[i : i + BATCH] for i in range(0, len(contacts), BATCH)]
        assert await post_all(client, "/api/v1/contacts/bulk", "contacts", batches, 4) == 0
        rows = []
        start = 0
        per_level = args.events // len(args.concurrency)
        for concurrency in args.concurrency:
            events = events_for(start, per_level, args.contacts)
            start += per_level
            batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
            t0 = time.perf_counter()
            failed = await post_all(client, "/api/v1/events/bulk", "events", batches, concurrency)
            elapsed = time.perf_counter() - t0
            rows.append(
                {
                    "concurrency": concurrency,
                    "events": len(events),
                    "seconds": elapsed,
                    "rate": len(events) / elapsed,
                    "failed": failed,
                }
            )
            print(f"concurrency {concurrency}: {len(events) / elapsed:,.0f} events/s")
        # Idempotency under load: the last level again changes nothing.
        t0 = time.perf_counter()
        await post_all(client, "/api/v1/events/bulk", "events", batches, args.concurrency[-1])
        replay = len(events) / (time.perf_counter() - t0)
        rows.append({"concurrency": args.concurrency[-1], "replay_rate": replay})
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/api_ingest.md")
    args = parser.parse_args()

    fresh_database()
    with tempfile.TemporaryDirectory() as data_dir:
        e = env(data_dir)
        otodoke(e, "migrate", "--verbosity", "0")
        otodoke(
            e, "workspace", "create", "--name", "Bench", "--slug", "bench", "--channel-id", "1",
            "--channel-secret", "s", "--channel-access-token", "t",
            "--api-base-url", "http://127.0.0.1:9",
        )  # fmt: skip
        token_args = [
            "api-token", "create", "--workspace", "bench", "--name", "bench",
            "--scopes", "read,write", "--rate", "1000000", "--burst", "10000", "--json",
        ]  # fmt: skip
        created = json.loads(otodoke(e, *token_args))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "otodoke", "serve", "--port", str(port),
             "--workers", str(args.web_workers)],
            env=e,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            rows = asyncio.run(drive(base, created["token"], args))
        finally:
            server.terminate()
            server.wait(timeout=30)
    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{PG_DB}") as conn:
        stored = conn.execute("SELECT count(*) FROM contacts_event").fetchone()
    stored_count = stored[0] if stored else 0
    expected = sum(r.get("events", 0) for r in rows)
    assert stored_count == expected, (stored_count, expected)
    write_report(args, rows, stored_count)


def write_report(args: argparse.Namespace, rows: list[dict[str, Any]], stored: int) -> None:
    cmd = "python3 -m uv run python bench/api_ingest.py " + " ".join(sys.argv[1:])
    lines = [
        "# Bulk event ingest through the REST API (PostgreSQL)",
        "",
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Command: `{cmd.strip()}`",
        f"- `otodoke serve --workers {args.web_workers}` (uvicorn), PostgreSQL on localhost, "
        f"{args.contacts:,} contacts, batches of {BATCH:,} events per request, rollups "
        "recomputed in each request",
        f"- Stored events checked: {stored:,} (every event `ok`, none lost or doubled)",
        "",
        "| concurrent clients | events | seconds | events/s | failed |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "events" in r:
            lines.append(
                f"| {r['concurrency']} | {r['events']:,} | {r['seconds']:.1f} | "
                f"{r['rate']:,.0f} | {r['failed']} |"
            )
    replay = next(r for r in rows if "replay_rate" in r)
    lines += [
        "",
        f"Replaying the last level (same external IDs, all `unchanged`): "
        f"{replay['replay_rate']:,.0f} events/s.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
