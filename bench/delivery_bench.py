"""Delivery benchmark (run by hand): Otodoke against the emulator enforcing LINE's real limits.

    python3 -m uv run python bench/delivery_bench.py --db sqlite --multicast 1000000 --push 100000
    python3 -m uv run python bench/delivery_bench.py --db postgres   # own database, see PG_URL

Starts `otodoke emulator` as its own process (LINE's default rate limits, 50 ms latency, no
quota), migrates a fresh database, creates N following friends as contacts, then measures:
- multicast campaign: recipients/s ÷ 100,000/s (LINE's 200 req/s × 500);
- personalised campaign to the same N friends (`--personalised`; every recipient rendered, the
  renders fall into three texts by a custom attribute, so they go out by multicast): time to the
  first request and in all, while the chunk planner renders during the send;
- personalised push campaign (every render differs): requests/s ÷ 2,000/s;
- for each: the time from the start of the send (before the freeze) to its first LINE request,
  and its total time; the planner's render rate (recipients rendered per second of render, and
  per second of planning with the payload/batch writes);
- Otodoke's own time to freeze recipients (+ plan the first chunk) and to record results, per
  1,000,000.
Appends a markdown section to bench/results/delivery.md and the figures to latest.json.
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
from latest import Figure, command_line, commit, load_average, record

REPO = Path(__file__).resolve().parents[1]
# This benchmark's own scratch database: it is emptied on every run, so never share it.
# OTODOKE_BENCH_PG_URL: another scratch database (two people benchmarking on one server).
PG_URL = os.environ.get(
    "OTODOKE_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/otodoke_delivery_bench"
)
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
            name = PG_URL.rsplit("/", 1)[1]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = db
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=")
    os.environ["OTODOKE_DATA_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "otodoke.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


RANKS = ("ゴールド", "シルバー", "")


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
                    attributes={"rank": RANKS[(start + i) % 3]} if RANKS[(start + i) % 3] else {},
                )
                for i, u in enumerate(chunk)
            ],
            batch_size=5000,
        )
    return list(Contact.objects.filter(workspace=workspace).values_list("id", flat=True))


PERSONAL_TEXTS = {
    "multicast": "春のご案内です",
    # Every recipient is rendered; three distinct results (by rank), sent by multicast.
    "personalised": '{{ attributes.rank | default("一般") }}会員のお客様へ、春のご案内です',
    # Every render differs: one push each.
    "push": "{{ name }}様、春のご案内です",
}


def run_case(base: str, workspace: Any, name: str, kind: str) -> dict[str, float]:
    from otodoke.campaigns import chunks, claims, dispatch, engine, services
    from otodoke.campaigns.conf import engine_conf
    from otodoke.campaigns.models import Delivery, DeliveryStatus

    campaign = services.create_campaign(
        workspace,
        name=name,
        messages=[{"type": "text", "text": PERSONAL_TEXTS[kind]}],
        target={"all_friends": True},
        actor=None,
        track_links=False,
    )
    delivery = services.send_campaign(campaign, actor=None)
    conf = engine_conf()

    # Recording results: the per-flush batch writes inside the send loop, and the set-based
    # pass that marks the recipients of sent batches when the dispatcher stops (after the last
    # request, so it is not part of the send time). Planning: the render alone, and a chunk's
    # whole step (render + payload/batch writes). The first request: when the dispatcher hands
    # its first group of requests to the HTTP loop.
    spent = {"record": 0.0, "settle": 0.0, "render": 0.0, "plan": 0.0, "rendered": 0.0}
    first: dict[str, float] = {}

    def timed(name: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return wrapper

    def render(self: Any, rows: list[Any]) -> Any:
        spent["rendered"] += len(rows)
        return original_render(self, rows)

    def submit(self: Any, jobs: Any) -> Any:
        first.setdefault("t", time.perf_counter())
        return original_submit(self, jobs)

    originals = (dispatch.record, claims.settle_sent)
    original_render, original_step = chunks.ChunkPlanner.render, chunks.ChunkPlanner.step
    original_submit = dispatch.AsyncSender.submit
    dispatch.record = timed("record", dispatch.record)  # type: ignore[assignment]
    claims.settle_sent = timed("settle", claims.settle_sent)  # type: ignore[assignment]
    chunks.ChunkPlanner.render = timed("render", render)  # type: ignore[method-assign]
    chunks.ChunkPlanner.step = timed("plan", original_step)  # type: ignore[method-assign]
    dispatch.AsyncSender.submit = submit  # type: ignore[method-assign]
    try:
        t_start = time.perf_counter()
        engine._freeze(
            Delivery.objects.select_related("campaign__workspace").get(pk=delivery.pk), conf
        )
        freeze_s = time.perf_counter() - t_start
        t0 = time.perf_counter()
        status = ""
        while status not in (
            DeliveryStatus.DONE,
            DeliveryStatus.FAILED,
            DeliveryStatus.PAUSED,
        ):
            status = engine.run_delivery(delivery.pk)
        t_end = time.perf_counter()
    finally:
        dispatch.record, claims.settle_sent = originals  # type: ignore[assignment]
        chunks.ChunkPlanner.render = original_render  # type: ignore[method-assign]
        chunks.ChunkPlanner.step = original_step  # type: ignore[method-assign]
        dispatch.AsyncSender.submit = original_submit  # type: ignore[method-assign]
    send_s = t_end - t0 - spent["settle"]
    delivery.refresh_from_db()
    requests = delivery.batches.count()
    return {
        "recipients": delivery.sent,
        "requests": requests,
        "freeze_s": freeze_s,
        "send_s": send_s,
        "first_request_s": first.get("t", t_end) - t_start,
        "total_s": t_end - t_start,
        "record_s": spent["record"] + spent["settle"],
        "settle_s": spent["settle"],
        "rendered": spent["rendered"],
        "render_s": spent["render"],
        "plan_s": spent["plan"],
        "status": status,  # type: ignore[dict-item]
    }


def sql_audience(workspace: Any, count: int) -> None:
    """PostgreSQL only (`--sql-setup`): `count` following, named contacts (a third per rank)
    by one INSERT … SELECT over generate_series, without making them friends at the emulator
    (it accepts a multicast to anyone, as LINE does; a push to a stranger fails). For the time
    to the first request at sizes whose ORM + emulator setup would take longer than the send."""
    from django.db import connection
    from django.utils import timezone

    from otodoke.contacts.models import Contact

    given = {
        "workspace_id": "%s",
        "line_user_id": "'U' || md5(i::text)",
        "line_status": "'following'",
        "name": "'客' || i",
        "attributes": 'CASE mod(i, 3) WHEN 0 THEN \'{"rank": "ゴールド"}\'::jsonb'
        " WHEN 1 THEN '{\"rank\": \"シルバー\"}'::jsonb ELSE '{}'::jsonb END",
    }
    now = timezone.now()
    columns, values, params = [], [], []
    for f in Contact._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in given:
            values.append(given[f.attname])
            if f.attname == "workspace_id":
                params.append(workspace.pk)
        else:
            default = now if f.attname in ("created_at", "updated_at") else f.get_default()
            values.append("%s")
            params.append(f.get_db_prep_save(default, connection))
    table = connection.ops.quote_name(Contact._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(values)}"  # noqa: S608
        " FROM generate_series(1, %s) AS i"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, count])
        cursor.execute(f"ANALYZE {table}")


def new_workspace(base: str, name: str, count: int, *, sql: bool = False) -> tuple[Any, float]:
    """A workspace of `count` following friends (named, a third of them per rank) and one
    friend without consent: "all friends" then goes out by multicast/push, not broadcast
    (which LINE limits to 60 requests an hour)."""
    from otodoke.contacts.models import Contact
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
    if sql:
        sql_audience(workspace, count)
    else:
        make_audience(base, workspace, count, personal=True)
    Contact.objects.create(
        workspace=workspace,
        line_user_id="U" + secrets.token_hex(16),
        line_status="following",
        marketing_consent=False,
    )
    return workspace, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--multicast", type=int, default=1_000_000)
    parser.add_argument(
        "--personalised",
        type=int,
        choices=[0, 1],
        default=1,
        help="also send a personalised campaign to the multicast case's friends",
    )
    parser.add_argument("--push", type=int, default=100_000)
    parser.add_argument(
        "--sql-setup",
        action="store_true",
        help="PostgreSQL: create the multicast/personalised friends set-based (see sql_audience)",
    )
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
        db_name = "postgres" if vendor == "postgresql" else vendor
        lines = [
            f"\n## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {vendor}\n",
            f"`{command_line()}` (commit {commit()})\n",
            "| case | recipients | requests | first request s | total s | send s | achieved "
            "| ÷ LINE ceiling | freeze s (per 1M) | render /s (planning /s) | record s (per 1M) "
            "| load before → after |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        figures: list[Figure] = []
        cases: list[tuple[str, int]] = []
        if args.multicast:
            cases.append(("multicast", args.multicast))
            if args.personalised:
                cases.append(("personalised", args.multicast))
        if args.push:
            cases.append(("push", args.push))
        workspaces: dict[int, Any] = {}
        for kind, count in cases:
            if count not in workspaces or kind == "push":
                workspaces[count], setup_s = new_workspace(
                    base, f"bench-{kind}", count, sql=args.sql_setup and kind != "push"
                )
                print(f"{kind}: {count:,} friends set up in {setup_s:.0f} s", file=sys.stderr)
            load_before = load_average()
            r = run_case(base, workspaces[count], f"bench-{kind}", kind)
            load_after = load_average()
            if kind == "push":
                rate, ceiling, unit = r["requests"] / r["send_s"], 2000.0, "req/s"
            else:
                rate, ceiling, unit = r["recipients"] / r["send_s"], 100_000.0, "recipients/s"
            per_m = 1_000_000 / max(count, 1)
            render_rate = r["rendered"] / r["render_s"] if r["render_s"] else 0.0
            plan_rate = r["rendered"] / r["plan_s"] if r["plan_s"] else 0.0
            row = (
                f"| {kind} | {r['recipients']:,} | {r['requests']:,} | "
                f"{r['first_request_s']:.2f} | {r['total_s']:.1f} | {r['send_s']:.1f} | "
                f"{rate:,.0f} {unit} | {rate / ceiling:.2f} | "
                f"{r['freeze_s']:.1f} ({r['freeze_s'] * per_m:.0f}) | "
                + (f"{render_rate:,.0f} ({plan_rate:,.0f})" if r["rendered"] else "–")
                + f" | {r['record_s']:.1f} ({r['record_s'] * per_m:.0f}) | "
                f"{load_before} → {load_after} |"
            )
            common = {"load_before": load_before, "load_after": load_after}
            if kind in ("multicast", "push"):
                figures.append(Figure(
                    name=f"{kind}_ceiling_ratio_{db_name}", value=round(rate / ceiling, 3),
                    unit="÷", aim=0.9 if kind == "multicast" else 0.8,
                    ratio_to=f"LINE's ceiling of {ceiling:,.0f} {unit}", **common,
                ))  # fmt: skip
            if kind in ("multicast", "personalised"):
                figures.append(Figure(
                    name=f"first_request_s_{kind}", value=round(r["first_request_s"], 2),
                    unit="s", aim=2.0,
                    ratio_to=f"{count:,} recipients on {db_name}, from send start", **common,
                ))  # fmt: skip
                figures.append(Figure(
                    name=f"total_s_{kind}_{db_name}", value=round(r["total_s"], 1), unit="s",
                    ratio_to=f"{count:,} recipients, freeze to done", **common,
                ))  # fmt: skip
            if kind == "push":
                figures.append(Figure(
                    name=f"first_request_s_push_{db_name}",
                    value=round(r["first_request_s"], 2), unit="s", aim=2.0,
                    ratio_to=f"{count:,} personalised pushes, from send start", **common,
                ))  # fmt: skip
            if kind == "personalised" and r["rendered"]:
                figures.append(Figure(
                    name=f"render_per_s_{db_name}", value=round(render_rate), unit="recipients/s",
                    aim=20_000, ratio_to="time inside the chunk planner's render", **common,
                ))  # fmt: skip
                figures.append(Figure(
                    name=f"plan_per_s_{db_name}", value=round(plan_rate), unit="recipients/s",
                    ratio_to="time inside planning steps (render + payload/batch writes)",
                    **common,
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
