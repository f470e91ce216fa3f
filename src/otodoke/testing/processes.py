"""Run real Otodoke processes (workers, the web server) against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection


def database_url() -> str:
    """A DATABASE_URL for the database the test run is using (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(str(s['NAME'])).resolve()}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{s['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url()
    env.update(extra)
    return env


def otodoke(*args: str, **popen: object) -> subprocess.Popen[bytes]:
    """Start `otodoke ARGS` as a separate process sharing the test database."""
    process: subprocess.Popen[bytes] = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "otodoke", *args],
        env=process_env(),
        **popen,  # type: ignore[call-overload]
    )
    return process


def tcp_ports(pid: int) -> set[int]:
    """Local ports of the TCP connections process `pid` has open right now (Linux /proc).

    Tests match them with the client ports the LINE emulator logs, to tell which of several
    worker processes sent a request."""
    inodes: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return set()
    for fd in fds:
        try:
            target = str(fd.readlink())
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
