"""`otodoke demo` stopped and started again in the same data folder (real processes): the
emulator's phones still hold what they received, the demo data is not "created" a second time,
and serving the UI's static files and favicon logs neither a 404 nor Django's
StreamingHttpResponse warning."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from otodoke.testing.net import free_port

CHANNEL_ID = "2000000001"  # the demo workspace's channel


@contextmanager
def _running_demo(data_dir: Path, web_port: int, emulator_port: int) -> Iterator[list[str]]:
    """Start the demo, wait for its banner, yield its output lines so far (and later), stop it
    with Ctrl-C (SIGINT, as a person would) and check it exited cleanly."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "OTODOKE_ENCRYPTION_KEYS", "DATABASE_URL"}
    }
    env.update(OTODOKE_DATA_DIR=str(data_dir), LANG="en_US.UTF-8", PYTHONWARNINGS="default")
    argv = [sys.executable, "-m", "otodoke", "demo", "--contacts", "60"]
    argv += ["--port", str(web_port), "--emulator-port", str(emulator_port)]
    demo = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in demo.stdout or ()), daemon=True
    )
    reader.start()
    try:
        _until(lambda: "Press Ctrl-C" in "".join(lines), demo, 300)
        yield lines
    finally:
        # Ctrl-C reaches the whole foreground process group: the demo and its children.
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        reader.join(10)
    assert demo.returncode == 0, "".join(lines)[-3000:]


def _until(done: Callable[[], bool], process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert process.poll() is None, "otodoke demo exited early"
        assert time.monotonic() < deadline, "otodoke demo did not start in time"
        time.sleep(0.2)


def test_a_restarted_demo_keeps_what_the_phones_received(tmp_path: Path) -> None:
    web_port, emulator_port = free_port(), free_port()
    emulator = f"http://127.0.0.1:{emulator_port}"
    with _running_demo(tmp_path, web_port, emulator_port) as first:
        channel = httpx.get(f"{emulator}/_emulator/channels/{CHANNEL_ID}").json()
        friends = httpx.get(
            f"{emulator}/_emulator/channels/{CHANNEL_ID}/friends", params={"status": "following"}
        ).json()["friends"]
        user_id = friends[0]["user_id"]
        pushed = httpx.post(
            f"{emulator}/v2/bot/message/push",
            headers={"Authorization": f"Bearer {channel['access_token']}"},
            json={"to": user_id, "messages": [{"type": "text", "text": "再起動しても残る"}]},
        )
        assert pushed.status_code == 200, pushed.text
        bot_user_id = channel["bot_user_id"]
    assert "Creating demo customers (first start only)" in "".join(first)

    with _running_demo(tmp_path, web_port, emulator_port) as second:
        received = httpx.get(
            f"{emulator}/_emulator/channels/{CHANNEL_ID}/friends/{user_id}/messages"
        ).json()["received"]
        assert [m["messages"][0]["text"] for m in received] == ["再起動しても残る"]
        phone = httpx.get(f"{emulator}/_emulator/phone/{CHANNEL_ID}/{user_id}")
        assert "再起動しても残る" in phone.text
        # The webhook `destination` stays the same bot user ID.
        restarted = httpx.get(f"{emulator}/_emulator/channels/{CHANNEL_ID}").json()
        assert restarted["bot_user_id"] == bot_user_id
        assert restarted["following"] == len(friends)

        web = f"http://127.0.0.1:{web_port}"
        favicon = httpx.get(f"{web}/favicon.ico")
        assert favicon.status_code == 200
        assert favicon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
        css = httpx.get(f"{web}/static/otodoke/app.css")
        assert css.status_code == 200 and len(css.content) > 100
        time.sleep(1)  # let the web process flush its log lines
    output = "".join(second)
    assert "first start only" not in output
    assert "Loading the demo customers from the last start" in output
    assert "StreamingHttpResponse" not in output
    assert "Not Found: /favicon.ico" not in output
