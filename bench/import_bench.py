"""Benchmark `otodoke import` against the database's own bulk loader on the same rows.

    python3 -m uv run python bench/import_bench.py --contacts 1000000 --events 10000000
    python3 -m uv run python bench/import_bench.py --contacts 100000 --events 1000000 --db sqlite

Generates the CSVs once into bench/data/ (git-ignored), then for each database: a fresh schema
(`otodoke migrate`), `otodoke import contacts`, `otodoke import events`, and a re-import of the
contacts file (a no-op by design); next to it the same files through COPY (PostgreSQL, psycopg)
or the sqlite3 CLI's `.import` into a bare table of text columns. Loader runs are repeated and
the median is reported. Writes bench/results/import.md (or --out).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from latest import Figure, load_average, record

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "otodoke_import_bench"
# --suffix: lets two runs (two sizes, or SQLite and PostgreSQL at once) use separate databases.
SUFFIX = ""

CONTACT_HEADER = ["顧客番号", "氏名", "フリガナ", "性別", "生年月日", "都道府県", "携帯電話",
                  "メールアドレス", "最終来店日", "来店回数", "累計購入金額"]  # fmt: skip
EVENT_HEADER = ["伝票番号", "顧客番号", "種別", "日時", "金額", "メニュー"]
FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["花子", "太郎", "陽菜", "翔太", "結衣", "大輔", "美咲", "健太", "さくら", "蓮"]
PREFS = ["東京都", "神奈川県", "大阪府", "埼玉県", "千葉県", "愛知県", "福岡県", "北海道"]
MENU = [("来店", "カット", 5500), ("来店", "カラー", 11000), ("購入", "シャンプー購入", 3300)]


def generate(contacts: int, events: int) -> tuple[Path, Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    cpath, epath = DATA / f"contacts_{contacts}.csv", DATA / f"events_{events}_{contacts}.csv"
    rng = random.Random(1)
    if not cpath.exists():
        with cpath.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(CONTACT_HEADER)
            for n in range(1, contacts + 1):
                w.writerow([
                    n, f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}", "ヤマダ ハナコ",
                    rng.choice("男女"), f"{rng.randint(1950, 2005)}/{rng.randint(1, 12)}/"
                    f"{rng.randint(1, 28)}", rng.choice(PREFS),
                    f"0{rng.choice('789')}0-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}",
                    f"user{n}@example.jp", f"2024/{rng.randint(1, 12)}/{rng.randint(1, 28)}",
                    rng.randint(1, 30), rng.randint(0, 300) * 1100,
                ])  # fmt: skip
    if not epath.exists():
        start = datetime(2023, 1, 1, tzinfo=UTC)
        with epath.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(EVENT_HEADER)
            for n in range(1, events + 1):
                kind, item, price = rng.choice(MENU)
                moment = start + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
                w.writerow([f"T{n}", rng.randint(1, contacts), kind,
                            moment.strftime("%Y-%m-%d %H:%M"), price, item])  # fmt: skip
    return cpath, epath


def _env(database_url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "OTODOKE_LOG_LEVEL": "WARNING"}
    # An installed otodoke runs from bytecode; without a cache every run spent several seconds
    # (tens under load) compiling Django and otodoke again before importing a row.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Throwaway keys unless the machine has its own (`otodoke init`): nothing here is secret.
    if "SECRET_KEY" not in env and not (ROOT / "data" / "keys.json").exists():
        env["SECRET_KEY"] = "bench-only-not-secret"  # noqa: S105 - a throwaway bench key
        env["OTODOKE_ENCRYPTION_KEYS"] = "YmVuY2gtb25seS1ub3Qtc2VjcmV0LWJlbmNoLW9ubHk="
    return env


# Peak resident memory of each otodoke run (KiB), by GNU time when the machine has it.
PEAK_RSS_KIB: dict[str, int] = {}
TIME = Path("/usr/bin/time")


def otodoke(database_url: str, *args: str, label: str = "") -> tuple[float, str]:
    rss_file = DATA / f"rss{SUFFIX}.txt"
    wrap = [str(TIME), "-f", "%M", "-o", str(rss_file)] if label and TIME.exists() else []
    started = time.perf_counter()
    done = subprocess.run(
        [*wrap, sys.executable, "-m", "otodoke", *args],
        env=_env(database_url), cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if wrap:
        PEAK_RSS_KIB[label] = int(rss_file.read_text().split()[-1])
    return elapsed, done.stdout


def fresh_otodoke_db(db: str) -> str:
    if db == "sqlite":
        path = DATA / f"bench{SUFFIX}.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}{SUFFIX}")
            conn.execute(f"CREATE DATABASE {PG_DB}{SUFFIX}")
        url = f"postgres://postgres@127.0.0.1:5432/{PG_DB}{SUFFIX}"
    otodoke(url, "migrate", "-v", "0")
    otodoke(url, "workspace", "create", "--name", "Bench", "--slug", "bench",
            "--channel-id", "1", "--channel-secret", "s", "--channel-access-token", "t",
            "--api-base-url", "http://127.0.0.1:9")  # fmt: skip
    return url


def loader(db: str, path: Path, columns: int) -> float:
    """The database's own bulk loader: the same file into a bare table of text columns."""
    cols = ", ".join(f"c{i} text" for i in range(columns))
    if db == "sqlite":
        target = DATA / f"loader{SUFFIX}.sqlite3"
        target.unlink(missing_ok=True)
        subprocess.run(["sqlite3", str(target), f"CREATE TABLE t ({cols});"], check=True)
        started = time.perf_counter()
        subprocess.run(
            ["sqlite3", str(target), ".mode csv", f".import --skip 1 {path} t"], check=True
        )
        return time.perf_counter() - started
    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{PG_DB}{SUFFIX}") as conn:
        conn.execute("DROP TABLE IF EXISTS bench_load")
        conn.execute(f"CREATE TABLE bench_load ({cols})")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy("COPY bench_load FROM STDIN (FORMAT csv, HEADER true)") as copy,
            path.open("rb") as f,
        ):
            while block := f.read(1 << 20):
                copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_load")
        conn.commit()
        return elapsed


def _step(db: str, name: str, seconds: float) -> None:
    """Each step as it finishes, so a run cut short still says how far it got."""
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    print(f"{db}: {name} {seconds:.1f} s (load {' '.join(load)})", flush=True)


def run_db(db: str, cpath: Path, epath: Path, repeat: int) -> dict[str, object]:
    url = fresh_otodoke_db(db)
    load_before = load_average()
    # The loaders first: they are quick, so even a run cut short has its ratio to beat.
    load_c = statistics.median(loader(db, cpath, len(CONTACT_HEADER)) for _ in range(repeat))
    _step(db, "loader contacts (median)", load_c)
    load_e = statistics.median(loader(db, epath, len(EVENT_HEADER)) for _ in range(repeat))
    _step(db, "loader events (median)", load_e)
    imp = ["--workspace", "bench", "--json"]
    t_contacts, out_c = otodoke(url, "import", "contacts", str(cpath), *imp, label="contacts")
    _step(db, "otodoke contacts", t_contacts)
    t_events, out_e = otodoke(url, "import", "events", str(epath), *imp, label="events")
    _step(db, "otodoke events", t_events)
    t_again, out_a = otodoke(url, "import", "contacts", str(cpath), *imp, label="reimport")
    _step(db, "otodoke contacts re-import", t_again)
    rss = {step: round(kib / 1024) for step, kib in PEAK_RSS_KIB.items()}
    print(f"{db}: peak RSS MiB {rss}", flush=True)
    summary = {k: json.loads(v) for k, v in (("c", out_c), ("e", out_e), ("a", out_a))}
    return {
        "db": db, "load_before": load_before, "load_after": load_average(),
        "contacts_s": t_contacts, "events_s": t_events, "reimport_s": t_again,
        "loader_contacts_s": load_c, "loader_events_s": load_e, "peak_rss_mib": rss,
        "summary": {k: {f: v[f] for f in ("rows", "created", "updated", "unchanged",
                                          "error_count")} for k, v in summary.items()},
    }  # fmt: skip


def report(args: argparse.Namespace, results: list[dict[str, object]], gen_s: float) -> str:
    lines = [
        "# Import benchmark",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- command: `python3 -m uv run python bench/import_bench.py {' '.join(sys.argv[1:])}`",
        f"- machine: {os.cpu_count()} CPUs; generated CSVs in {gen_s:.0f} s (not timed below)",
        f"- rows: {args.contacts:,} contacts, {args.events:,} events; loader runs: median of "
        f"{args.repeat}; otodoke runs: one each on a fresh database (includes process start-up)",
        "",
        "| database | step | otodoke import | bulk loader | ratio | rows/s (otodoke) | peak RSS |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rss = r.get("peak_rss_mib") or {}
        assert isinstance(rss, dict)
        for step, ours, theirs, rows, key in (
            ("contacts", r["contacts_s"], r["loader_contacts_s"], args.contacts, "contacts"),
            ("events (incl. rollups)", r["events_s"], r["loader_events_s"], args.events, "events"),
            ("contacts re-import (no-op)", r["reimport_s"], r["loader_contacts_s"],
             args.contacts, "reimport"),
        ):  # fmt: skip
            assert isinstance(ours, float) and isinstance(theirs, float)
            peak = f"{rss[key]:,} MiB" if key in rss else "–"
            lines.append(
                f"| {r['db']} | {step} | {ours:.1f} s | {theirs:.1f} s | {ours / theirs:.1f}× "
                f"| {rows / ours:,.0f} | {peak} |"
            )
    lines += ["", "Import summaries (`--json`):", ""]
    lines += [f"- {r['db']}: `{json.dumps(r['summary'], ensure_ascii=False)}`" for r in results]
    return "\n".join(lines) + "\n"


LOADERS = {
    "sqlite": "the sqlite3 CLI's .import of the same file",
    "postgres": "psycopg COPY of the same file",
}


def figures(results: list[dict[str, object]]) -> list[Figure]:
    """The ratios to the bulk loader, for bench/results/latest.json (aim: within 3×)."""
    out = []
    for r in results:
        for step, ours, theirs in (
            ("contacts", "contacts_s", "loader_contacts_s"),
            ("events", "events_s", "loader_events_s"),
            ("reimport", "reimport_s", "loader_contacts_s"),
        ):
            value = float(r[ours]) / float(r[theirs])  # type: ignore[arg-type]
            out.append(
                Figure(
                    name=f"import_{step}_{r['db']}_ratio",
                    value=round(value, 2),
                    unit="×",
                    aim=3.0,
                    ratio_to=LOADERS[str(r["db"])],
                    load_before=str(r["load_before"]),
                    load_after=str(r["load_after"]),
                )
            )
    return out  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="loader runs (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "import.md")
    parser.add_argument("--note", default="", help="a paragraph added to the results file")
    parser.add_argument("--suffix", default="", help="appended to the bench database names")
    args = parser.parse_args()
    global SUFFIX
    SUFFIX = args.suffix
    started = time.perf_counter()
    cpath, epath = generate(args.contacts, args.events)
    gen_s = time.perf_counter() - started
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for db in dbs:
        print(f"{db}: importing …", flush=True)
        results.append(run_db(db, cpath, epath, args.repeat))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    text = report(args, results, gen_s)
    record(figures(results))
    if args.note:
        text += "\n" + args.note + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
