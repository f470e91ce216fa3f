"""The webhook sender under load (issue 12.29): bounded concurrency, redelivery backoff,
recovery after the receiver was down; the request log names clients that went away."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from typing import Any

import httpx
import pytest

from line_emulator.testing import TEST_TOKEN, EmulatorServer
from line_emulator.tests.conftest import make_friends


class Receiver:
    """A bot server on a real port: answers `status` after `delay` seconds, and counts how
    many requests it is serving at once."""

    def __init__(self) -> None:
        self.status = 200
        self.delay = 0.0
        self.lock = threading.Lock()
        self.active = 0
        self.most_at_once = 0
        self.served = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                with receiver.lock:
                    receiver.active += 1
                    receiver.most_at_once = max(receiver.most_at_once, receiver.active)
                try:
                    self.rfile.read(int(self.headers["content-length"]))
                    time.sleep(receiver.delay)
                    self.send_response(receiver.status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                finally:
                    with receiver.lock:
                        receiver.active -= 1
                        receiver.served += 1

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(emulator: EmulatorServer, control: httpx.Client) -> Iterator[Receiver]:
    bot = Receiver()
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}",
        json={"webhook_url": bot.url},
    ).raise_for_status()
    yield bot
    bot.close()


def webhook_settings(emulator: EmulatorServer, **values: Any) -> None:
    response = httpx.put(f"{emulator.url}/_emulator/webhook-settings", json=values)
    assert response.status_code == 200, response.text


def follow_all(control: httpx.Client, users: list[str]) -> None:
    """Every friend follows at once (one control request each, in parallel)."""
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        answers = list(pool.map(lambda u: control.post(f"/friends/{u}/follow", timeout=60), users))
    assert {a.status_code for a in answers} == {200}, {a.text for a in answers}


def deliveries(control: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = control.get("/webhooks").json()["deliveries"]
    return found


def test_webhook_posts_in_flight_are_bounded_and_none_waits_into_a_timeout(
    emulator: EmulatorServer, control: httpx.Client, receiver: Receiver
) -> None:
    webhook_settings(emulator, max_concurrency=4, timeout_seconds=1.0)
    receiver.delay = 0.25  # 40 POSTs, 4 at a time: about 2.5 s, each well inside its 1 s
    users = make_friends(control, 40, status="unfollowed-never")

    follow_all(control, users)

    assert receiver.served == 40
    assert receiver.most_at_once == 4
    sent = deliveries(control)
    assert len(sent) == 40 and all(d["succeeded"] for d in sent)
    assert {a["error"] for d in sent for a in d["attempts"]} == {None}


def test_redeliveries_back_off_doubling_up_to_the_cap(
    emulator: EmulatorServer, control: httpx.Client, receiver: Receiver
) -> None:
    webhook_settings(
        emulator,
        redelivery=True,
        redelivery_attempts=4,
        redelivery_interval_seconds=0.2,
        redelivery_max_interval_seconds=0.8,
    )
    receiver.status = 500
    [user] = make_friends(control, 1, status="unfollowed-never")
    control.post(f"/friends/{user}/follow")
    time.sleep(0.2 + 0.4 + 0.8 + 0.8 + 1.0)

    [delivery] = deliveries(control)
    times = [datetime.fromisoformat(a["time"]) for a in delivery["attempts"]]
    assert len(times) == 5 and not delivery["succeeded"]
    gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
    for gap, expected in zip(gaps, [0.2, 0.4, 0.8, 0.8], strict=True):
        assert expected - 0.05 <= gap <= expected + 0.4, gaps


def test_after_the_receiver_was_down_every_delivery_gets_through(
    emulator: EmulatorServer, control: httpx.Client, receiver: Receiver
) -> None:
    webhook_settings(
        emulator,
        redelivery=True,
        redelivery_attempts=6,
        redelivery_interval_seconds=0.3,
        redelivery_max_interval_seconds=1.0,
        max_concurrency=5,
    )
    receiver.status = 503  # down
    users = make_friends(control, 60, status="unfollowed-never")
    follow_all(control, users)
    assert not any(d["succeeded"] for d in deliveries(control))

    receiver.status = 200  # back up
    deadline = time.monotonic() + 20
    while not all(d["succeeded"] for d in deliveries(control)):
        assert time.monotonic() < deadline, "deliveries never recovered"
        time.sleep(0.2)

    assert receiver.most_at_once <= 5
    errors = {a["error"] for d in deliveries(control) for a in d["attempts"]}
    assert errors <= {None, "error_status_code"}  # never a timeout waiting for the pool


def test_a_client_that_goes_away_mid_request_is_logged_as_client_closed(
    emulator: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    host, port = emulator.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v2/bot/message/push HTTP/1.1\r\nHost: api.line.me\r\n"
            b"Authorization: Bearer " + TEST_TOKEN.encode() + b"\r\n"
            b'Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{"to":'
        )
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while True:
        log = httpx.get(f"{emulator.url}/_emulator/responses").json()["requests"]
        if log and log[-1]["status"]:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)

    assert log[-1]["path"] == "/v2/bot/message/push"
    assert log[-1]["status"] == "client_closed"
    assert "Traceback" not in capfd.readouterr().err  # no ASGI traceback for it


def test_deliberate_drops_print_no_traceback(
    emulator: EmulatorServer, capfd: pytest.CaptureFixture[str]
) -> None:
    httpx.put(f"{emulator.url}/_emulator/faults", json={"drop": 1.0, "drop_after_accept": 0.5})
    headers = {"Authorization": f"Bearer {TEST_TOKEN}"}
    for _ in range(6):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(f"{emulator.url}/v2/bot/info", headers=headers)
    log = httpx.get(f"{emulator.url}/_emulator/responses").json()["requests"]
    assert [r["status"] for r in log] == ["dropped"] * 6
    assert "Traceback" not in capfd.readouterr().err


def test_a_channel_with_20001_following_friends_reports_all_of_them(
    emulator: EmulatorServer, control: httpx.Client
) -> None:
    assert control.post("/friends", json={"count": 20001}, timeout=60).status_code == 201
    channel = httpx.get(f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}")
    assert channel.json()["following"] == 20001
    channels = httpx.get(f"{emulator.url}/_emulator/state").json()["channels"]
    assert [c["following"] for c in channels] == [20001]
    listed = control.get("/friends", params={"status": "following"}).json()
    assert listed["total"] == 20001
