"""Benchmark the scenario scheduler: a minute with 10,000 steps due among 100,000 enrolments,
the scheduler's own work per tick, and the time from a friend's action to the first message.

    python3 -m uv run python bench/scenario_bench.py                       # PostgreSQL, full size
    python3 -m uv run python bench/scenario_bench.py --contacts 200000 --db sqlite

Everything runs as in production: the LINE emulator (`otodoke emulator`, 50 ms per answer),
`otodoke serve` for the webhook and the REST API, and one `otodoke worker` whose scheduler chain
ticks every `OTODOKE_SCENARIO_TICK_SECONDS` (10 s, the default). The driver seeds the database
directly (it is not what is measured) and reads results from the database and the emulator.

1. **Due in one minute.** `--contacts` contacts (1,000,000), the first `--enrolled` (100,000) of
   them LINE friends enrolled in a scenario whose first step is a personalised message (one push
   each, at LINE's push rate). `--due` (10,000) of the enrolments become due spread over one
   minute starting a few seconds ahead; the rest are due days later. A second active scenario is
   triggered by "entered a segment" (total spent ≥ 50,000円, about one contact in six) so every
   full watch evaluation over all contacts runs in the same ticks, as it would in a shop.
   Lateness of a step = when LINE accepted its push − when it was due. Every friend must get
   exactly one copy (the emulator's per-user counts).
2. **Trigger latency.** `--samples` new friends follow the account through the emulator (the
   webhook goes to `otodoke serve`, the worker processes it, the welcome scenario enrols and
   sends); and `--samples` purchases are posted to `/api/v1/events/bulk` for linked friends (a
   purchase-triggered scenario answers). Latency = when the emulator received the scenario's
   push − just before the action. p50 and p99.
3. **The scheduler's own work**, with the worker stopped, in this process: a tick that finds and
   advances 10,000 due enrolments (claim, leave/goal checks, ledger rows and retry keys recorded,
   no sending), a full "entered a segment" evaluation over all contacts, and a tick with nothing
   due. Medians of `--repeat`.

Writes bench/results/scenarios.md (or --out) and the `scenario_*` figures of
bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from benchkit import free_port, load_text, process, wait_for
from latest import Figure, commit, record

ROOT = Path(__file__).resolve().parents[1]
PG_URL = "postgres://postgres@127.0.0.1:5432/otodoke_scenario_bench"
TOKEN = "bench-token"  # noqa: S105 - the emulator's bench channel
SECRET = "bench-secret"  # noqa: S105
CHANNEL = "2000000001"
KEYS = {
    "SECRET_KEY": "bench-secret-key-not-for-production",
    "OTODOKE_ENCRYPTION_KEYS": "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=",
}
NOW = dt.datetime.now(dt.UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def wait_until(check: Any, what: str, timeout: float) -> float:
    """Poll `check()` until true; returns the seconds it took."""
    began = time.monotonic()
    while not check():
        if time.monotonic() - began > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)
    return time.monotonic() - began


def setup_django(db: str, workdir: Path) -> str:
    if db == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        import psycopg

        url = PG_URL
        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS otodoke_scenario_bench")
            conn.execute("CREATE DATABASE otodoke_scenario_bench")
    os.environ.update(KEYS)
    os.environ["DATABASE_URL"] = url
    os.environ["OTODOKE_DATA_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "otodoke.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def seed_contacts(workspace: Any, emulator: str, count: int, friends: int) -> list[int]:
    """`count` contacts; the first `friends` are LINE friends the emulator knows."""
    from otodoke.contacts.models import Contact
    from otodoke.core.statistics import refresh_statistics

    rng = random.Random(7)
    for start in range(0, count, 10_000):
        rows = []
        for i in range(start, min(start + 10_000, count)):
            friend = i < friends
            rows.append(
                Contact(
                    workspace=workspace,
                    external_id=f"C{i:07d}",
                    name=f"客{i}",
                    line_user_id=f"U{i:032x}" if friend else None,
                    line_status="following" if friend else "none",
                    marketing_consent=True,
                    visit_count=rng.randrange(1, 20),
                    total_spent=rng.randrange(0, 60_000),
                    last_visit_at=NOW - dt.timedelta(days=rng.randrange(400)),
                )
            )
        Contact.objects.bulk_create(rows, batch_size=5000)
        if start < friends:
            chunk = [{"user_id": f"U{i:032x}"} for i in range(start, min(start + 10_000, friends))]
            httpx.post(
                f"{emulator}/_emulator/channels/{CHANNEL}/friends",
                json={"friends": chunk},
                timeout=300,
            ).raise_for_status()
    refresh_statistics(Contact)
    return list(
        Contact.objects.filter(workspace=workspace, line_user_id__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def text(body: str, *, quiet: bool = True) -> dict[str, Any]:
    return {"type": "send", "messages": [{"type": "text", "text": body}], "quiet_hours": quiet}


def scenarios(workspace: Any) -> dict[str, Any]:
    from otodoke.scenarios.services import activate_scenario, create_scenario, set_quiet_hours

    set_quiet_hours(workspace, enabled=False)
    specs = {
        "due": {
            "trigger": {"kind": "tag_added", "params": {"tag": "ベンチ"}},
            "entry_rule": "once",
            "steps": [
                text("{{ name }}さま、前回のご来店から少したちました。今月のおすすめです。"),
                {"type": "wait", "days": 30},
                text("{{ name }}さま、ご予約はこちらから。"),
            ],
        },
        "segment": {
            "trigger": {
                "kind": "segment_entered",
                "params": {
                    "definition": {
                        "version": 1,
                        "where": {"kind": "total_spent", "min": 50_000},
                    }
                },
            },
            "entry_rule": "once",
            "steps": [text("いつもありがとうございます。ゴールド会員になりました。")],
        },
        "welcome": {
            "trigger": {"kind": "friend_added", "params": {}},
            "entry_rule": "every",
            "steps": [text("友だち追加ありがとうございます！", quiet=False)],
        },
        "purchase": {
            "trigger": {"kind": "event", "params": {"event": "purchase"}},
            "entry_rule": "every",
            "steps": [text("{{ name }}さま、ご購入ありがとうございます。", quiet=False)],
        },
    }
    made = {}
    for key, spec in specs.items():
        scenario = create_scenario(workspace, name=f"bench {key}", spec=spec)
        made[key] = activate_scenario(scenario)
    return made


def enrol(scenario: Any, contact_ids: list[int], due: list[dt.datetime]) -> list[int]:
    from otodoke.scenarios.models import Enrolment

    rows = [
        Enrolment(
            scenario=scenario,
            version_id=scenario.current_version_id,
            contact_id=cid,
            entered_at=NOW - dt.timedelta(days=1),
            step_index=0,
            next_due_at=when,
            source="bench",
        )
        for cid, when in zip(contact_ids, due, strict=True)
    ]
    made = Enrolment.objects.bulk_create(rows, batch_size=5000)
    return [e.pk for e in made]


def due_minute(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, Any]:
    """Phase 1 (the worker is running): 10,000 steps due over one minute."""
    from otodoke.scenarios.models import Enrolment, SendStatus, StepSend

    scenario = state["scenarios"]["due"]
    friends = state["friends"]
    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    step = dt.timedelta(seconds=60) / args.due
    due = [start + i * step for i in range(args.due)]
    ids = enrol(scenario, friends[: args.due], due)
    due_of = dict(zip(ids, due, strict=True))
    sent = StepSend.objects.filter(scenario=scenario, status=SendStatus.SENT)
    wait_until(lambda: sent.count() >= args.due, "the due minute's sends", timeout=900)
    lateness = [
        (sent_at - due_of[eid]).total_seconds()
        for eid, sent_at in sent.values_list("enrolment_id", "sent_at")
    ]
    copies = httpx.get(
        f"{state['emulator']}/_emulator/channels/{CHANNEL}/deliveries",
        params={"endpoint": "push", "per_user": 1},
        timeout=60,
    ).json()["per_user"]
    wanted = {f"U{i:032x}" for i in range(args.due)}
    got = {u: n for u, n in copies.items() if u in wanted}
    return {
        "due": args.due,
        "sent": len(lateness),
        "late_max_s": max(lateness),
        "late_p50_s": statistics.median(lateness),
        "late_p99_s": pct(lateness, 0.99),
        "over_60_s": sum(1 for v in lateness if v > 60),
        "copies_1": sum(1 for n in got.values() if n == 1),
        "copies_more": sum(1 for n in got.values() if n > 1),
        "missing": len(wanted - set(got)),
        "active_enrolments": Enrolment.objects.filter(status="active").count(),
    }


def received(emulator: str, user_id: str) -> list[dict[str, Any]]:
    body = httpx.get(
        f"{emulator}/_emulator/channels/{CHANNEL}/friends/{user_id}/messages", timeout=10
    ).json()
    out: list[dict[str, Any]] = body.get("received", [])
    return out


def arrival(emulator: str, user_id: str, needle: str, timeout: float = 60) -> float:
    """Epoch seconds when the emulator accepted the first message containing `needle`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for r in received(emulator, user_id):
            if any(needle in m.get("text", "") for m in r["messages"]):
                return dt.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()
        time.sleep(0.05)
    raise SystemExit(f"{user_id} never received {needle!r}")


def trigger_latency(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, list[float]]:
    """Phase 2: follow → welcome, purchase via the API → thank-you."""
    emulator = state["emulator"]
    follows: list[float] = []
    for _ in range(args.samples):
        user_id = "U" + secrets.token_hex(16)
        t0 = time.time()
        httpx.post(
            f"{emulator}/_emulator/channels/{CHANNEL}/friends/{user_id}/follow",
            json={"display_name": "ベンチ"},
            timeout=30,
        ).raise_for_status()
        follows.append(arrival(emulator, user_id, "友だち追加ありがとうございます") - t0)
    purchases: list[float] = []
    # Friends beyond the due minute's, so the first message is unambiguous.
    for i in range(args.due, args.due + args.samples):
        t0 = time.time()
        response = httpx.post(
            f"{state['web']}/api/v1/events/bulk",
            headers={"Authorization": f"Bearer {state['api_token']}"},
            json={
                "events": [
                    {
                        "external_id": f"bench-purchase-{i}",
                        "contact_external_id": f"C{i:07d}",
                        "kind": "purchase",
                        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
                        "amount": 3300,
                    }
                ]
            },
            timeout=30,
        )
        response.raise_for_status()
        purchases.append(arrival(emulator, f"U{i:032x}", "ご購入ありがとうございます") - t0)
    return {"follow": follows, "purchase": purchases}


def scheduler_work(args: argparse.Namespace, state: dict[str, Any]) -> dict[str, float]:
    """Phase 3 (worker stopped): the tick's own work, timed in this process."""
    from otodoke.scenarios import scheduler
    from otodoke.scenarios.models import Enrolment, EnrolmentStatus
    from otodoke.segments import watches
    from otodoke.segments.models import SegmentWatch

    watch = SegmentWatch.objects.get(
        owner_kind="scenario_version",
        owner_id=state["scenarios"]["segment"].current_version_id,
    )
    refreshes, advances, idles = [], [], []
    later = list(
        Enrolment.objects.filter(
            scenario=state["scenarios"]["due"], status=EnrolmentStatus.ACTIVE, step_index=0
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for r in range(args.repeat):
        t0 = time.perf_counter()
        watches.refresh(watch)
        refreshes.append(time.perf_counter() - t0)
        # The next 10,000 due now: claim, advance, record the ledger (no sending).
        chunk = later[r * args.due : (r + 1) * args.due]
        now = dt.datetime.now(dt.UTC)
        Enrolment.objects.filter(pk__in=chunk).update(next_due_at=now)
        t0 = time.perf_counter()
        result = scheduler.tick(now=now + dt.timedelta(seconds=1), send=False)
        advances.append(time.perf_counter() - t0)
        assert result.claimed >= len(chunk), result.as_dict()
        t0 = time.perf_counter()
        scheduler.tick(now=now + dt.timedelta(seconds=2), send=False)
        idles.append(time.perf_counter() - t0)
    return {
        "watch_refresh_s": statistics.median(refreshes),
        "advance_s": statistics.median(advances),
        "idle_tick_s": statistics.median(idles),
        "busiest_tick_s": statistics.median(refreshes) + statistics.median(advances),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--enrolled", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/scenarios.md")
    args = parser.parse_args()
    if args.enrolled < args.due * (args.repeat + 1) or args.contacts < args.enrolled:
        parser.error("need contacts ≥ enrolled ≥ due × (repeat + 1)")
    command = "python3 -m uv run python bench/scenario_bench.py " + " ".join(sys.argv[1:])
    workdir = Path(tempfile.mkdtemp(prefix="otodoke-scenario-bench-"))
    load_before = load_text()
    began = time.perf_counter()

    def stage(what: str) -> None:
        print(f"[{time.perf_counter() - began:6.0f} s] {what}", flush=True)

    url = setup_django(args.db, workdir)
    env = {
        **os.environ,
        **KEYS,
        "DATABASE_URL": url,
        "OTODOKE_DATA_DIR": str(workdir),
        "OTODOKE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT / "src"),
    }
    emulator_port, web_port = free_port(), free_port()
    emulator = f"http://127.0.0.1:{emulator_port}"
    web = f"http://127.0.0.1:{web_port}"
    py = [sys.executable, "-m", "otodoke"]
    with process(
        [
            *py,
            "emulator",
            "--port",
            str(emulator_port),
            "--latency-ms",
            "50",
            "--channel",
            f"{TOKEN}:{SECRET}:{CHANNEL}",
            "--log-level",
            "warning",
        ],
        env,
        workdir / "emulator.log",
    ):
        wait_for(f"{emulator}/_emulator/state", "the emulator")
        from otodoke.api.services import create_token
        from otodoke.workspaces.services import create_workspace

        workspace = create_workspace(
            name="Bench",
            channel_id=CHANNEL,
            channel_secret=SECRET,
            channel_access_token=TOKEN,
            api_base_url=emulator,
            plan="standard",
        )
        state: dict[str, Any] = {"emulator": emulator, "web": web}
        state["friends"] = seed_contacts(workspace, emulator, args.contacts, args.enrolled)
        stage(f"seeded {args.contacts:,} contacts, {args.enrolled:,} friends")
        state["scenarios"] = scenarios(workspace)
        state["api_token"] = create_token(workspace, name="bench", scopes=["write"]).plaintext
        # The enrolments not due in the measured minute: due in three days.
        later = state["friends"][args.due : args.enrolled]
        enrol(state["scenarios"]["due"], later, [NOW + dt.timedelta(days=3)] * len(later))
        stage(f"{args.enrolled:,} enrolments")
        httpx.patch(
            f"{emulator}/_emulator/channels/{CHANNEL}",
            json={"webhook_url": web + workspace.webhook_path()},
            timeout=10,
        ).raise_for_status()
        with (
            process([*py, "serve", "--port", str(web_port)], env, workdir / "serve.log"),
            process([*py, "worker", "--interval", "0.2"], env, workdir / "worker.log"),
        ):
            wait_for(f"{web}/healthz", "otodoke serve")
            # The worker's first chain tick takes the segment watch's baseline over every
            # contact; start the measured minute after it, as in a running shop.
            from otodoke.segments.models import SegmentWatch

            wait_until(
                lambda: SegmentWatch.objects.filter(last_evaluated_at__isnull=False).exists(),
                "the worker's first tick",
                timeout=600,
            )
            stage("worker ticking")
            minute = due_minute(args, state)
            stage(f"due minute: {json.dumps(minute)}")
            latency = trigger_latency(args, state)
            stage("trigger latency measured")
        work = scheduler_work(args, state)
        stage(f"scheduler work: {json.dumps(work)}")
    load_after = load_text()
    write(args, command, minute, latency, work, load_before, load_after)


def write(
    args: argparse.Namespace,
    command: str,
    minute: dict[str, Any],
    latency: dict[str, list[float]],
    work: dict[str, float],
    load_before: str,
    load_after: str,
) -> None:
    db = "PostgreSQL" if args.db == "postgres" else "SQLite"
    everyone = latency["follow"] + latency["purchase"]
    lines = [
        "# Scenario scheduler benchmark",
        "",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC. Commit: `{commit()}`. "
        f"Database: {db}. Command:",
        "",
        f"    {command}",
        "",
        f"Load average before → after: {load_before} → {load_after} (2 CPUs, shared).",
        "",
        f"Set-up: {args.contacts:,} contacts, {args.enrolled:,} of them LINE friends with an "
        "active enrolment in a scenario whose first step is a personalised message "
        "(a push each); "
        "a second active scenario triggered by “entered a segment” over all contacts; the LINE "
        "emulator answering in 50 ms; `otodoke serve` and one `otodoke worker` (tick every 10 s).",
        "",
        "## Due in the same minute",
        "",
        "| steps due in one minute | sent | lateness p50 / p99 / max s | later than 60 s "
        "| friends with 1 copy / more / none | aim |",
        "|---:|---:|---|---:|---|---|",
        f"| {minute['due']:,} | {minute['sent']:,} | {minute['late_p50_s']:.1f} / "
        f"{minute['late_p99_s']:.1f} / {minute['late_max_s']:.1f} | {minute['over_60_s']} | "
        f"{minute['copies_1']:,} / {minute['copies_more']} / {minute['missing']} | "
        "every one ≤ 60 s after due |",
        "",
        "Lateness = when the emulator (LINE) accepted the push − when the step was due.",
        "",
        "## The scheduler's own work per tick (worker stopped, in one process)",
        "",
        f"| work | median of {args.repeat} s |",
        "|---|---:|",
        f"| find and advance {args.due:,} due enrolments (claim, leave/goal checks, ledger rows "
        f"with retry keys; no sending) | {work['advance_s']:.2f} |",
        f"| full “entered a segment” evaluation over {args.contacts:,} contacts | "
        f"{work['watch_refresh_s']:.2f} |",
        f"| the busiest tick (both) | {work['busiest_tick_s']:.2f} |",
        f"| a tick with nothing due | {work['idle_tick_s']:.3f} |",
        "",
        "## From a friend's action to the scenario's first message",
        "",
        "| trigger | samples | p50 s | p99 s |",
        "|---|---:|---:|---:|",
        f"| follow (webhook → welcome) | {len(latency['follow'])} | "
        f"{statistics.median(latency['follow']):.2f} | {pct(latency['follow'], 0.99):.2f} |",
        f"| purchase via `POST /api/v1/events/bulk` | {len(latency['purchase'])} | "
        f"{statistics.median(latency['purchase']):.2f} | {pct(latency['purchase'], 0.99):.2f} |",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    suffix = "" if args.db == "postgres" else "_sqlite"
    record(
        [
            Figure(
                f"scenario_lateness_max_s{suffix}",
                round(minute["late_max_s"], 2),
                "s",
                aim=60.0,
                ratio_to="when each step was due",
                load_before=load_before,
                load_after=load_after,
            ),
            Figure(
                f"scenario_tick_s{suffix}",
                round(work["busiest_tick_s"], 2),
                "s",
                aim=10.0,
                ratio_to=f"{args.due:,} due + a segment watch over {args.contacts:,} contacts",
                load_before=load_before,
                load_after=load_after,
            ),
            Figure(
                f"scenario_trigger_latency_p99_s{suffix}",
                round(pct(everyone, 0.99), 2),
                "s",
                aim=5.0,
                ratio_to="the friend's action (follow webhook or API purchase)",
                load_before=load_before,
                load_after=load_after,
            ),
        ]
    )
    print(args.out.read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
