"""`otodoke demo` from nothing: keys, database, emulator, web app and worker come up together."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.hashers import check_password

from otodoke.testing.net import free_port


def _wait(url: str, process: subprocess.Popen[bytes], timeout: float = 300) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "otodoke demo exited early"
        try:
            return httpx.get(url, timeout=5)
        except httpx.HTTPError:
            time.sleep(0.5)
    raise AssertionError(f"{url} never answered")


def test_demo_starts_everything_on_a_fresh_data_folder(tmp_path: Path) -> None:
    web_port, emulator_port = free_port(), free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        # A fresh machine: no keys, no database settings; the demo makes its own.
        if key not in {"SECRET_KEY", "OTODOKE_ENCRYPTION_KEYS", "DATABASE_URL"}
    }
    env["OTODOKE_DATA_DIR"] = str(tmp_path)
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "otodoke",
            "demo",
            "--port",
            str(web_port),
            "--emulator-port",
            str(emulator_port),
            "--contacts",
            "150",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Read the output as it comes: the banner is printed only once the demo has seen the web
    # app answer, which can be after this test has (SIGINT before it lost the banner).
    lines: list[str] = []
    assert demo.stdout is not None
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in demo.stdout or ()), daemon=True
    )
    reader.start()
    try:
        login = _wait(f"http://127.0.0.1:{web_port}/login/", demo)
        assert login.status_code == 200
        assert 'name="password"' in login.text
        phone_index = _wait(f"http://127.0.0.1:{emulator_port}/_emulator/phone", demo)
        assert phone_index.status_code == 200

        keys = json.loads((tmp_path / "keys.json").read_text())
        assert keys["SECRET_KEY"] and keys["ENCRYPTION_KEYS"]
        assert (tmp_path / "keys.json").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "otodoke.sqlite3").exists()

        channels = httpx.get(f"http://127.0.0.1:{emulator_port}/_emulator/channels").json()
        assert channels, "the demo registered its channel in the emulator"
        _assert_emulator_friends_are_the_demo_contacts(tmp_path, emulator_port)
        deadline = time.monotonic() + 60
        while "Press Ctrl-C" not in "".join(lines) and time.monotonic() < deadline:
            assert demo.poll() is None, "otodoke demo exited early"
            time.sleep(0.1)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        reader.join(10)
    output = "".join(lines)
    assert demo.returncode == 0, output[-2000:]
    printed = dict(re.findall(r"^\s+(owner|manager|operator|viewer)\s+/ (\S+)", output, re.M))
    assert set(printed) == {"owner", "manager", "operator", "viewer"}, output[-2000:]
    _assert_one_login_per_role(tmp_path, printed)


def _assert_one_login_per_role(data_dir: Path, printed: dict[str, str]) -> None:
    """Each printed login has its role in the demo workspace, the printed password is its
    password, and none of them is a Django superuser or staff (no /admin/ for a viewer)."""
    with sqlite3.connect(data_dir / "otodoke.sqlite3") as db:
        rows = db.execute(
            "SELECT u.username, u.password, u.is_superuser, u.is_staff, m.role"
            " FROM auth_user u JOIN workspaces_membership m ON m.user_id = u.id"
            " JOIN workspaces_workspace w ON w.id = m.workspace_id WHERE w.slug = 'demo-salon'"
        ).fetchall()
    roles = {username: role for username, _, _, _, role in rows}
    assert roles == {name: name for name in printed}
    for username, encoded, is_superuser, is_staff, _role in rows:
        assert not is_superuser and not is_staff, username
        assert check_password(printed[username], encoded), username


def _assert_emulator_friends_are_the_demo_contacts(data_dir: Path, emulator_port: int) -> None:
    """The emulator's friends must be the demo's own contacts, or demo campaigns would reach
    simulated phones nobody can find in Otodoke."""
    with sqlite3.connect(data_dir / "otodoke.sqlite3") as db:
        expected = {
            row[0]
            for row in db.execute(
                "SELECT line_user_id FROM contacts_contact WHERE line_status = 'following'"
            )
        }
    assert len(expected) > 50
    url = f"http://127.0.0.1:{emulator_port}/_emulator/channels/2000000001/friends"
    listed = httpx.get(url, params={"status": "following", "limit": 100000}).json()
    assert {friend["user_id"] for friend in listed["friends"]} == expected


@pytest.mark.parametrize(
    ("command", "promised"),
    [
        # the overview names each group of commands and what they do
        (["--help"], ["serve", "worker", "emulator", "import", "segment", "campaign", "usage"]),
        # the emulator documents its fault knobs and where webhooks go
        (["emulator", "--help"], ["--port", "--webhook-url", "--fault-429", "--channel"]),
        # a subcommand says what it is for and lists its operations with a description each
        (["workspace", "--help"], ["one per LINE Official Account", "create a workspace", "list"]),
    ],
)
def test_cli_help_documents_the_commands(command: list[str], promised: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "otodoke", "--lang", "en", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    missing = [text for text in promised if text not in result.stdout]
    assert not missing, result.stdout
