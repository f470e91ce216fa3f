"""Machine-readable benchmark results: `bench/results/latest.json`.

Every benchmark records each figure it reports here as well as in its Markdown table, so a
script can read the current numbers without parsing prose. One entry per figure name; a re-run
replaces the entries it measured and leaves the others as they were::

    {"name": "import_contacts_postgres_ratio", "value": 2.7, "unit": "×", "aim": 3.0,
     "ratio_to": "psycopg COPY of the same file", "command": "python3 -m uv run python …",
     "commit": "285660a", "date": "2026-12-03T14:05:00Z",
     "load_before": "1.02 0.98 0.91", "load_after": "1.40 1.10 0.95"}

`aim` is the figure the issue asks for (`null` where there is none) and `ratio_to` names what a
ratio is divided by (`null` for plain rates and times).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# OTODOKE_BENCH_LATEST: somewhere else, for a trial run whose figures should not count.
LATEST = Path(os.environ.get("OTODOKE_BENCH_LATEST", ROOT / "bench" / "results" / "latest.json"))


def load_average() -> str:
    """The three load averages as `/proc/loadavg` prints them (empty off Linux)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return ""


def commit() -> str:
    """The checked-out commit, with `+dirty` when the work tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head  # fmt: skip


def command_line() -> str:
    """How this benchmark was started, as one would type it again."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(ROOT)
    return " ".join(["python3 -m uv run python", str(script), *sys.argv[1:]])


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    aim: float | None = None
    ratio_to: str | None = None
    command: str = field(default_factory=command_line)
    commit: str = field(default_factory=commit)
    date: str = field(default_factory=lambda: f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
    load_before: str = ""
    load_after: str = field(default_factory=load_average)


def record(figures: list[Figure], path: Path = LATEST) -> None:
    """Merge `figures` into `path`: same-named entries are replaced, the rest are kept."""
    entries: dict[str, dict[str, object]] = {}
    if path.exists():
        for entry in json.loads(path.read_text(encoding="utf-8")):
            entries[str(entry["name"])] = entry
    for figure in figures:
        entries[figure.name] = asdict(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(sorted(entries.values(), key=lambda e: str(e["name"])), ensure_ascii=False,
                   indent=1) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    tmp.replace(path)
