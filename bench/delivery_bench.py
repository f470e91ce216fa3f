"""Delivery benchmark (run by hand): Otodoke against the emulator enforcing LINE's real limits.

    python3 -m uv run python bench/delivery_bench.py --db sqlite --multicast 1000000 --push 100000
    python3 -m uv run python bench/delivery_bench.py --db postgres   # own database, see PG_URL

Starts `otodoke emulator` as its own process (LINE's default rate limits, 50 ms latency, no
quota), migrates a fresh database, creates N following friends as contacts, then measures:
- multicast campaign: recipients/s ÷ 100,000/s (LINE's 200 req/s × 500);
- personalised push campaign (every render differs): requests/s ÷ 2,000/s;
- Otodoke's own time to freeze recipients (+ plan batches) and to record results, per 1,000,000.
Appends a markdown section to bench/results/delivery.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from latest import Figure, load_average, record

REPO = Path(__file__).resolve().parents[1]
# This benchmark's own scratch database: it is emptied on every run, so never share it.
PG_URL = "postgres://postgres@127.0.0.1:5432/otodoke_delivery_bench"
TOKEN = "bench-token"  # noqa: S105 - the emulator's fixture token
CHANNEL = "2000000001"


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otodoke",
            "emulator",
            "--port",
            str(port),
            "--latency-ms",
            "50",
            "--channel",
            f"{TOKEN}:bench-secret:{CHANNEL}",
            "--log-level",
            "warning",
        ],
        cwd=REPO,
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/_emulator/state", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("emulator did not start")


def setup_django(db: str, workdir: Path) -> None:
    if db == "sqlite":
        db = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        import psycopg

        db = PG_URL
        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS otodoke_delivery_bench")
            conn.execute("CREATE DATABASE otodoke_delivery_bench")
    os.environ["DATABASE_URL"] = db
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=")
    os.environ["OTODOKE_DATA_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "otodoke.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_audience(base: str, workspace: Any, count: int, personal: bool) -> list[int]:
    from otodoke.contacts.models import Contact

    ids = ["U" + secrets.token_hex(16) for _ in range(count)]
    for start in range(0, count, 20_000):
        chunk = ids[start : start + 20_000]
        httpx.post(
            f"{base}/_emulator/channels/{CHANNEL}/friends",
            json={"friends": [{"user_id": u} for u in chunk]},
            timeout=300,
        ).raise_for_status()
        Contact.objects.bulk_create(
            [
                Contact(
                    workspace=workspace,
                    line_user_id=u,
                    line_status="following",
                    name=f"客{start + i}" if personal else "",
                )
                for i, u in enumerate(chunk)
            ],
            batch_size=5000,
        )
    return list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))


def run_case(base: str, name: str, count: int, personal: bool) -> dict[str, float]:
    from otodoke.campaigns import claims, dispatch, engine, services
    from otodoke.campaigns.conf import engine_conf
    from otodoke.campaigns.models import Delivery, DeliveryStatus
    from otodoke.workspaces.services import create_workspace

    workspace = create_workspace(
        name=name,
        channel_id=CHANNEL,
        channel_secret="bench-secret",  # noqa: S106
        channel_access_token=TOKEN,
        api_base_url=base,
        plan="standard",
    )
    t0 = time.perf_counter()
    make_audience(base, workspace, count, personal)
    setup_s = time.perf_counter() - t0
    text = "{{ name }}様、春のご案内です" if personal else "春のご案内です"
    # One friend without consent: "all friends" then goes out by multicast/push, not broadcast
    # (which LINE limits to 60 requests an hour).
    from otodoke.contacts.models import Contact

    Contact.objects.create(
        workspace=workspace,
        line_user_id="U" + secrets.token_hex(16),
        line_status="following",
        marketing_consent=False,
    )
    campaign = services.create_campaign(
        workspace,
        name=name,
        messages=[{"type": "text", "text": text}],
        target={"all_friends": True},
        actor=None,
        track_links=False,
    )
    delivery = services.send_campaign(campaign, actor=None)
    conf = engine_conf()
    t0 = time.perf_counter()
    engine._freeze(Delivery.objects.select_related("campaign__workspace").get(pk=delivery.pk), conf)
    freeze_s = time.perf_counter() - t0

    # Recording results: the per-flush batch writes inside the send loop, and the set-based
    # pass that marks the recipients of sent batches when the dispatcher stops (after the last
    # request, so it is not part of the send time).
    record_time = {"record": 0.0, "settle": 0.0}

    def timed(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                record_time[name] += time.perf_counter() - start

        return wrapper

    originals = (dispatch.record, claims.settle_sent)
    dispatch.record = timed("record", dispatch.record)  # type: ignore[assignment]
    claims.settle_sent = timed("settle", claims.settle_sent)  # type: ignore[assignment]
    t0 = time.perf_counter()
    status = ""
    while status not in (DeliveryStatus.DONE, DeliveryStatus.FAILED, DeliveryStatus.PAUSED):
        status = engine.run_delivery(delivery.pk)
    send_s = time.perf_counter() - t0 - record_time["settle"]
    dispatch.record, claims.settle_sent = originals  # type: ignore[assignment]
    delivery.refresh_from_db()
    requests = delivery.batches.count()
    return {
        "recipients": delivery.sent,
        "requests": requests,
        "setup_s": setup_s,
        "freeze_s": freeze_s,
        "send_s": send_s,
        "record_s": record_time["record"] + record_time["settle"],
        "settle_s": record_time["settle"],
        "status": status,  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--multicast", type=int, default=1_000_000)
    parser.add_argument("--push", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--concurrency", default="256")
    args = parser.parse_args()
    os.environ["OTODOKE_SEND_CONCURRENCY"] = args.concurrency
    workdir = Path(tempfile.mkdtemp(prefix="otodoke-bench-"))
    emulator = start_emulator(args.port)
    base = f"http://127.0.0.1:{args.port}"
    try:
        setup_django(args.db, workdir)
        from django.db import connection

        vendor = connection.vendor
        lines = [
            f"\n## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {vendor}\n",
            f"`python3 -m uv run python bench/delivery_bench.py --db {args.db}"
            f" --multicast {args.multicast} --push {args.push} --concurrency {args.concurrency}`\n",
            "| case | recipients | requests | send s | achieved | ÷ LINE ceiling | freeze s "
            "(per 1M) | record s (per 1M) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        figures: list[Figure] = []
        for name, count, personal in (
            ("multicast", args.multicast, False),
            ("push", args.push, True),
        ):
            if not count:
                continue
            load_before = load_average()
            r = run_case(base, f"bench-{name}", count, personal)
            if personal:
                rate, ceiling, unit = r["requests"] / r["send_s"], 2000.0, "req/s"
            else:
                rate, ceiling, unit = r["recipients"] / r["send_s"], 100_000.0, "recipients/s"
            per_m = 1_000_000 / max(count, 1)
            row = (
                f"| {name}{' (personalised)' if personal else ''} | {r['recipients']:,} | "
                f"{r['requests']:,} | {r['send_s']:.1f} | {rate:,.0f} {unit} | "
                f"{rate / ceiling:.2f} | {r['freeze_s']:.1f} ({r['freeze_s'] * per_m:.0f}) | "
                f"{r['record_s']:.1f} ({r['record_s'] * per_m:.0f}) |"
            )
            figures.append(Figure(
                name=f"{name}_ceiling_ratio_{'postgres' if vendor == 'postgresql' else vendor}",
                value=round(rate / ceiling, 3), unit="÷", aim=0.9 if name == "multicast" else 0.8,
                ratio_to=f"LINE's ceiling of {ceiling:,.0f} {unit}", load_before=load_before,
            ))  # fmt: skip
            print(row, r["status"], f"settle {r['settle_s']:.1f} s", file=sys.stderr)
            lines.append(row)
        with (REPO / "bench" / "results" / "delivery.md").open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        record(figures)
    finally:
        emulator.terminate()
        emulator.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
