"""Segment watch benchmark (run by hand): the "entered a segment" diff over N contacts.

    python3 -m uv run python bench/watch_bench.py --db postgres --contacts 1000000
    python3 -m uv run python bench/watch_bench.py --db sqlite --contacts 100000

Creates a fresh database (PostgreSQL: its own scratch database, see PG_URL; SQLite: a file in
a temporary folder), N contacts with a last visit spread over a year, birth dates spread over
the calendar and 30 % tagged VIP, then times `segments.watches` on the definition
"VIP and last visit more than 60 days ago" (a tag EXISTS and a time-dependent rollup):

- baseline: the first full refresh (inserts every member, reports nobody);
- unchanged: a full refresh with nothing changed;
- 1 % changed: VIP tags removed from 0.5 % and added to 0.5 % of the contacts, then a refresh;
- a day later: the clock moves one day, so one day's worth of last visits crosses the 60-day
  line with no write at all;
- incremental: `refresh_contacts` for 100 contacts;
- the date triggers' due queries (birthday month on the 1st, 60 days without a visit, 30 days
  before a renewal date held by a fifth of the contacts as a custom attribute).

Prints one JSON object and appends a markdown section to bench/results/watch.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# This benchmark's own scratch database: it is emptied on every run, so never share it.
PG_URL = "postgres://postgres@127.0.0.1:5432/otodoke_watch_bench"
NOW = dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC)  # 10:00 on 1 March in Tokyo
DEFINITION = {
    "version": 1,
    "where": {
        "kind": "all",
        "conditions": [
            {"kind": "tags", "match": "any", "names": ["VIP"]},
            {"kind": "last_visit", "op": "before", "days_ago": 60},
        ],
    },
}


def setup_django(db: str, workdir: Path) -> None:
    if db == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        import psycopg

        url = PG_URL
        with psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS otodoke_watch_bench")
            conn.execute("CREATE DATABASE otodoke_watch_bench")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ.setdefault("OTODOKE_ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdCE=")
    os.environ["OTODOKE_DATA_DIR"] = str(workdir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "otodoke.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(count: int, seed: int) -> tuple[Any, list[int]]:
    from otodoke.contacts.models import Contact, ContactTag, Tag
    from otodoke.core.statistics import refresh_statistics
    from otodoke.workspaces.services import create_workspace

    rng = random.Random(seed)
    workspace = create_workspace(
        name="Bench",
        channel_id="2000000001",
        channel_secret="bench-secret",  # noqa: S106
        channel_access_token="bench-token",  # noqa: S106
        api_base_url="http://127.0.0.1:9",
    )
    vip = Tag.objects.create(workspace=workspace, name="VIP")
    for start in range(0, count, 10_000):
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    workspace=workspace,
                    external_id=f"C{i:07d}",
                    line_user_id=f"U{i:032x}",
                    line_status="following",
                    birth_date=dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(20_000)),
                    last_visit_at=NOW - dt.timedelta(minutes=rng.randrange(365 * 24 * 60)),
                    visit_count=1,
                    # A fifth have a contract renewal date within the coming year.
                    attributes=(
                        {
                            "renewal": (NOW + dt.timedelta(days=rng.randrange(365))).strftime(
                                "%Y/%m/%d"
                            )
                        }
                        if i % 5 == 0
                        else {}
                    ),
                )
                for i in range(start, min(start + 10_000, count))
            ],
            batch_size=5000,
        )
        ContactTag.objects.bulk_create(
            [
                ContactTag(contact=c, tag=vip, added_at=NOW - dt.timedelta(days=30))
                for c in contacts
                if rng.random() < 0.3
            ],
            batch_size=5000,
        )
    refresh_statistics(Contact, ContactTag)
    ids = list(Contact.objects.filter(workspace=workspace).values_list("pk", flat=True))
    return workspace, ids


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def run(count: int, seed: int) -> dict[str, Any]:
    from otodoke.contacts.models import ContactTag, Tag
    from otodoke.scenarios.timed import birthday_month_due, date_attribute_due, inactivity_due
    from otodoke.segments.services import contacts_matching
    from otodoke.segments.watches import ensure_watch, refresh, refresh_contacts

    load_s, (workspace, ids) = timed(lambda: load(count, seed))
    rng = random.Random(seed + 1)
    watch = ensure_watch(workspace, "bench", 1, DEFINITION)
    out: dict[str, Any] = {"contacts": count, "load_s": round(load_s, 1)}

    # PostgreSQL's first read of freshly loaded rows sets their hint bits (and writes the
    # pages); timed on its own so the baseline below is the watch's own work.
    seconds, n = timed(lambda: contacts_matching(workspace, DEFINITION, now=NOW).count())
    out["first_scan_after_load_s"] = round(seconds, 3)
    seconds, diff = timed(lambda: refresh(watch, NOW))
    out["baseline_s"] = round(seconds, 3)
    out["members"] = watch.members.count()
    seconds, diff = timed(lambda: refresh(watch, NOW + dt.timedelta(minutes=1)))
    out["unchanged_s"] = round(seconds, 3)
    assert not diff

    vip = Tag.objects.get(workspace=workspace, name="VIP")
    tagged = set(ContactTag.objects.filter(tag=vip).values_list("contact_id", flat=True))
    sample = rng.sample(ids, max(2, count // 100))
    drop = [c for c in sample if c in tagged][: len(sample) // 2]
    add = [c for c in sample if c not in tagged][: len(sample) // 2]
    ContactTag.objects.filter(tag=vip, contact_id__in=drop).delete()
    ContactTag.objects.bulk_create(
        [ContactTag(contact_id=c, tag=vip, added_at=NOW) for c in add], batch_size=5000
    )
    seconds, diff = timed(lambda: refresh(watch, NOW + dt.timedelta(minutes=2)))
    out["one_percent_changed_s"] = round(seconds, 3)
    out["one_percent_changed"] = {"entered": len(diff.entered), "left": len(diff.left)}

    seconds, diff = timed(lambda: refresh(watch, NOW + dt.timedelta(days=1)))
    out["a_day_later_s"] = round(seconds, 3)
    out["a_day_later"] = {"entered": len(diff.entered), "left": len(diff.left)}

    few = rng.sample(ids, 100)
    seconds, diff = timed(lambda: refresh_contacts(watch, few, NOW + dt.timedelta(days=1)))
    out["incremental_100_s"] = round(seconds, 4)

    seconds, n = timed(lambda: birthday_month_due(workspace, NOW).contact_ids.count())
    out["birthday_month_due_s"] = round(seconds, 3)
    out["birthday_month_due"] = n
    seconds, n = timed(
        lambda: inactivity_due(workspace, NOW, event="visit", days=60).contact_ids.count()
    )
    out["inactivity_due_s"] = round(seconds, 3)
    out["inactivity_due"] = n
    seconds, n = timed(
        lambda: date_attribute_due(
            workspace, NOW, key="renewal", offset_days=-30
        ).contact_ids.count()
    )
    out["date_attribute_due_s"] = round(seconds, 3)
    out["date_attribute_due"] = n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "watch.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(args.db, Path(tmp))
        from django.db import connection

        result = {"db": args.db, "server": connection.vendor, **run(args.contacts, args.seed)}
    print(json.dumps(result, ensure_ascii=False))
    load_avg = os.getloadavg()[0]
    with args.out.open("a", encoding="utf-8") as f:
        f.write(
            f"\n## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC — {args.db}, "
            f"{args.contacts:,} contacts (load {load_avg:.1f})\n\n"
            f"`python3 -m uv run python bench/watch_bench.py --db {args.db} "
            f"--contacts {args.contacts}`\n\n```json\n{json.dumps(result, indent=2)}\n```\n"
        )


if __name__ == "__main__":
    main()
