"""How many requests/s the LINE emulator can answer, next to LINE's own rate limits.

Starts the emulator in a subprocess with rate limits off, drives push and multicast (500
recipients) with an async httpx client at several concurrencies for a fixed time, repeats each
cell, and writes bench/results/emulator_capacity.md with the medians.

    python3 -m uv run python bench/emulator_capacity.py [--seconds 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

TOKEN = "bench-token"  # noqa: S105  # the emulator's made-up channel token
CHANNEL_ID = "1000000099"
LINE_LIMITS = {"push": 2000, "multicast": 200}
RESULTS = Path(__file__).parent / "results" / "emulator_capacity.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_emulator(port: int, friends: int, source: Path | None = None) -> subprocess.Popen[bytes]:
    """`source`: a directory holding another line_emulator package, imported instead of ours."""
    command = [
        sys.executable, "-m", "line_emulator", "--port", str(port),
        "--channel", f"{TOKEN}:bench-secret:{CHANNEL_ID}",
        "--no-rate-limits", "--friends", str(friends), "--seed", "1",
    ]  # fmt: skip
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(source), env.get("PYTHONPATH")]))
    return subprocess.Popen(command, env=env)


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/_emulator/state", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("emulator did not start")


async def drive(
    port: int, path: str, body: dict[str, object], concurrency: int, seconds: float
) -> float:
    """Requests/s answered 200 by `concurrency` keep-alive connections sending back to back.

    A minimal HTTP/1.1 client on asyncio streams: on a 2-core machine httpx's own overhead
    (about a millisecond per request, worse with many connections) would be what we measure.
    """
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    done = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))  # type: ignore[union-attr]  # always sent
                await reader.readexactly(length)
                if status != 200:
                    raise RuntimeError(f"{path} answered {status}")
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


class Target:
    """One running emulator and the bodies to send it."""

    def __init__(self, source: Path | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = start_emulator(self.port, friends=1000, source=source)
        self.bodies: dict[str, dict[str, object]] = {}

    def prepare(self) -> None:
        wait_until_up(self.base)
        friends = httpx.get(
            f"{self.base}/_emulator/channels/{CHANNEL_ID}/friends", params={"limit": 500}
        ).json()["friends"]
        user_ids = [f["user_id"] for f in friends]
        message = [{"type": "text", "text": "ベンチマーク"}]
        # Warm up: the first validation waits for line-bot-sdk's (slow) import.
        httpx.post(
            f"{self.base}/v2/bot/message/push",
            json={"to": user_ids[0], "messages": message},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=120,
        )
        self.bodies = {
            "push": {"to": user_ids[0], "messages": message},
            "multicast": {"to": user_ids[:500], "messages": message},
        }

    def run(self, endpoint: str, concurrency: int, seconds: float) -> float:
        path = f"/v2/bot/message/{endpoint}"
        return asyncio.run(drive(self.port, path, self.bodies[endpoint], concurrency, seconds))

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=10)


Table = dict[tuple[str, int], list[float]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument("--runs", type=int, default=3, help="runs per cell (median reported)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the table")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a directory holding an older line_emulator package (e.g. `git archive COMMIT "
        "src/line_emulator | tar -x -C DIR`, then DIR/src): it runs alongside and every run "
        "alternates between the two, so both see the same machine load",
    )
    args = parser.parse_args()

    load_before = os.getloadavg()
    targets = {"current": Target(None)}
    if args.baseline is not None:
        targets["baseline"] = Target(args.baseline)
    tables: dict[str, Table] = {name: {} for name in targets}
    try:
        for target in targets.values():
            target.prepare()
        for endpoint in ("push", "multicast"):
            for concurrency in args.concurrency:
                for _ in range(args.runs):
                    for name, target in targets.items():
                        rate = target.run(endpoint, concurrency, args.seconds)
                        tables[name].setdefault((endpoint, concurrency), []).append(rate)
                for name, table in tables.items():
                    rates = [round(r) for r in table[endpoint, concurrency]]
                    print(name, endpoint, concurrency, rates)
    finally:
        for target in targets.values():
            target.stop()
    args.load = (load_before, os.getloadavg())
    write_report(tables, args)
    return 0


def write_report(tables: dict[str, Table], args: argparse.Namespace) -> None:
    command = f"python3 -m uv run python bench/emulator_capacity.py --seconds {args.seconds:g}"
    command += f" --runs {args.runs}"
    if args.baseline is not None:
        command += f" --baseline {args.baseline}"
    load = " / ".join(" ".join(f"{v:.2f}" for v in values) for values in args.load)
    lines = [
        "# LINE emulator capacity",
        "",
        f"Date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        "",
        f"Command: `{command}`",
        "",
        "Emulator in a subprocess (uvicorn, one worker, uvloop + httptools when installed), rate "
        "limits off, 1,000 friends; one client process (a minimal asyncio HTTP/1.1 client, one "
        "keep-alive connection per unit of concurrency) sending back to back for "
        f"{args.seconds:g} s per run. Requests/s answered 200, median of {args.runs} runs; "
        "each run's value is in brackets.",
        "",
        "This machine has **2 cores shared by the client, the emulator and other jobs**, so the "
        "numbers are noisy and the client's own CPU use caps them; a dedicated host would do "
        f"better. Load average (1, 5, 15 min) before / after: {load} "
        "(other agents' test suites were running).",
        "",
    ]
    header = "| endpoint | LINE's limit (req/s) | concurrency | achieved req/s (median) | runs |"
    rule = "|---|---|---|---|---|"
    baseline = tables.get("baseline")
    if baseline is not None:
        lines += [
            f"`baseline` is the emulator from `{args.baseline}`, run alongside: every run "
            "alternates between the two servers, so both columns saw the same load.",
            "",
        ]
        header += " baseline req/s (median) | baseline runs |"
        rule += "---|---|"
    lines += [header, rule]
    for (endpoint, concurrency), runs in tables["current"].items():
        limit = f"{LINE_LIMITS[endpoint]:,}"
        row = f"| {endpoint} | {limit} | {concurrency} | {_cell(runs)} |"
        if baseline is not None:
            row += f" {_cell(baseline[endpoint, concurrency])} |"
        lines.append(row)
    lines += [
        "",
        "Multicast delivers to 500 recipients per request, so its recipients/s is 500× the "
        "request rate.",
        "",
        "One process is the limit by design: all emulator state (friends and what they "
        "received, retry keys, rate-limit buckets, quota, audiences) lives in that process's "
        "memory, so several uvicorn workers would each see a different LINE. More capacity "
        "needs a faster single process or a bigger core, not more workers.",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


def _cell(runs: list[float]) -> str:
    shown = ", ".join(f"{r:.0f}" for r in runs)
    return f"{statistics.median(runs):,.0f} | [{shown}]"


if __name__ == "__main__":
    raise SystemExit(main())
