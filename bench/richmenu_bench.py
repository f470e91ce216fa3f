"""Rich-menu relink benchmark (run by hand): N friends move to another menu after a rule change.

    python3 -m uv run python bench/richmenu_bench.py --contacts 100000

PostgreSQL (its own scratch database, see PG_URL) and the LINE emulator in its own process,
spoken to over real HTTP. N following contacts, every one in the segment of one rule, are
linked to menu A; then the rule is changed to menu B and `richmenus.sync` relinks all N:
the segment watch, the desired menus, the chunk plan (≤ 500 users each, recorded before the
calls) and the bulk-link calls themselves. Repeated `--runs` times (A→B, B→A, …), medians
quoted.

The figure `richmenu_relink_ratio` is Otodoke's relink throughput (users per second, the
whole sync) divided by LINE's ceiling for the bulk-link endpoint: 2,000 requests/s × 500
users = 1,000,000 users/s. Writes bench/results/richmenu.md and bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.latest import Figure, command_line, commit, load_average, record  # noqa: E402

PG_URL = "postgres://postgres@127.0.0.1:5432/otodoke_richmenu_bench"
CHANNEL_ID, TOKEN, SECRET = "2000000009", "bench-token", "bench-secret"
CEILING = 2000 * 500  # LINE: bulk link 2,000 requests/s, 500 user IDs each


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def setup_django(workdir: Path) -> None:
    import psycopg

    with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS otodoke_richmenu_bench")
        conn.execute("CREATE DATABASE otodoke_richmenu_bench")
    os.environ["DATABASE_URL"] = PG_URL
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=")
    os.environ["OTODOKE_DATA_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "otodoke.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_emulator() -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "line_emulator", "--port", str(port), "--log-level", "warning",
         "--channel", f"{TOKEN}:{SECRET}:{CHANNEL_ID}"],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/_emulator", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the emulator did not start")


def load(count: int, url: str) -> Any:
    import httpx

    from otodoke.contacts.models import Contact, ContactTag, Tag
    from otodoke.core.statistics import refresh_statistics
    from otodoke.workspaces.services import create_workspace

    workspace = create_workspace(
        name="Bench", channel_id=CHANNEL_ID, channel_secret=SECRET,
        channel_access_token=TOKEN, api_base_url=url,
    )  # fmt: skip
    vip = Tag.objects.create(workspace=workspace, name="VIP")
    ids = [f"U{i:032x}" for i in range(count)]
    for start in range(0, count, 5000):
        part = ids[start : start + 5000]
        contacts = Contact.objects.bulk_create(
            [Contact(workspace=workspace, line_user_id=u, line_status="following") for u in part],
            batch_size=5000,
        )
        ContactTag.objects.bulk_create(
            [ContactTag(contact=c, tag=vip, added_at=dt.datetime.now(dt.UTC)) for c in contacts],
            batch_size=5000,
        )
        body = {"friends": [{"user_id": u, "status": "following"} for u in part]}
        httpx.post(
            f"{url}/_emulator/channels/{CHANNEL_ID}/friends", json=body, timeout=60
        ).raise_for_status()
    refresh_statistics(Contact, ContactTag)
    return workspace


def menu(workspace: Any, name: str) -> Any:
    from otodoke.richmenus import services
    from otodoke.richmenus.images import generate

    made = services.create_menu(
        workspace, name=name, chat_bar_text="menu", width=2500, height=843,
        image=generate(2500, 843, [name]),
    )  # fmt: skip
    services.save_areas(
        made, [{"x": 0, "y": 0, "width": 2500, "height": 843, "type": "postback", "value": name}]
    )
    return services.publish_menu(made)


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def run(count: int, runs: int, url: str) -> dict[str, Any]:
    from otodoke.richmenus import services, sync
    from otodoke.segments.services import save_segment

    load_s, workspace = timed(lambda: load(count, url))
    segment = save_segment(
        workspace, name="VIP", description="", actor=None,
        definition={"version": 1, "where": {"kind": "tags", "match": "any", "names": ["VIP"]}},
    )  # fmt: skip
    a, b = menu(workspace, "A"), menu(workspace, "B")
    rule = services.create_rule(workspace, name="VIP", segment=segment, menu=a)
    first_s, first = timed(lambda: sync.sync(workspace, full=True))
    assert first.linked == count, first.as_dict()

    relinks: list[float] = []
    details: list[dict[str, Any]] = []
    for index in range(runs):
        target = b if index % 2 == 0 else a
        services.update_rule(rule, menu=target)
        profile = None
        if os.environ.get("BENCH_PROFILE"):  # where the time goes: BENCH_PROFILE=1
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
        seconds, result = timed(lambda: sync.sync(workspace, full=True))
        if profile is not None:
            profile.disable()
            profile.dump_stats(f"/tmp/richmenu-bench-{index}.prof")
        assert result.linked == count and result.calls == -(-count // 500), result.as_dict()
        relinks.append(seconds)
        details.append({"s": round(seconds, 2), "calls": result.calls})
    idle_s, idle = timed(lambda: sync.sync(workspace, full=True))
    assert idle.calls == 0
    median = statistics.median(relinks)
    return {
        "contacts": count,
        "load_s": round(load_s, 1),
        "first_link_s": round(first_s, 2),
        "relink_runs": details,
        "relink_median_s": round(median, 2),
        "users_per_s": round(count / median),
        "ceiling_users_per_s": CEILING,
        "ratio": round(count / median / CEILING, 4),
        "unchanged_sync_s": round(idle_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    before = load_average()
    process, url = start_emulator()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            setup_django(Path(tmp))
            out = run(args.contacts, args.runs, url)
    finally:
        process.terminate()
        process.wait(timeout=30)
    after = load_average()
    print(out)
    figure = Figure(
        name="richmenu_relink_ratio",
        value=out["ratio"],
        unit="× LINE ceiling",
        aim=None,
        ratio_to="LINE's bulk-link ceiling: 2,000 requests/s × 500 users = 1,000,000 users/s",
        load_before=before,
        load_after=after,
    )
    record([figure])
    md = REPO / "bench" / "results" / "richmenu.md"
    if not md.exists():
        md.write_text(
            "# Rich-menu relink benchmark (`bench/richmenu_bench.py`)\n\n"
            "All N friends change menu after a rule change; one `richmenus.sync` per run "
            "(watch refresh, desired menus, chunk plan, bulk-link calls over HTTP to the "
            "emulator in its own process), PostgreSQL. The ratio divides the median throughput "
            "by LINE's bulk-link ceiling (1,000,000 users/s).\n",
            encoding="utf-8",
        )
    with md.open("a", encoding="utf-8") as f:
        f.write(
            f"\n## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC — commit {commit()}, "
            f"{args.contacts:,} contacts\n\n`{command_line()}`\n\n"
            f"| figure | value | load before | load after |\n|---|---|---|---|\n"
            f"| relink median (s, {args.runs} runs) | {out['relink_median_s']} "
            f"| {before} | {after} |\n"
            f"| users/s | {out['users_per_s']:,} | {before} | {after} |\n"
            f"| ratio to LINE's ceiling | {out['ratio']} | {before} | {after} |\n"
            f"| first link of everyone (s) | {out['first_link_s']} | {before} | {after} |\n"
            f"| sync with nothing changed (s, 0 calls) | {out['unchanged_sync_s']} "
            f"| {before} | {after} |\n"
            f"\nRuns: {out['relink_runs']}\n"
        )


if __name__ == "__main__":
    main()
