"""Run the emulator over real HTTP for tests: `running_emulator(config)` and pytest fixtures.

    from line_emulator.testing import running_emulator
    with running_emulator(EmulatorConfig(channels=[...])) as base_url:
        httpx.post(f"{base_url}/v2/bot/message/push", ...)

Pytest suites can load the fixtures with `pytest_plugins = ["line_emulator.testing"]`:
`emulator_server` (one server per session) and `emulator` (the same server, reset to
`default_test_config()` before each test; it has `.url`, `.emulator`, `.channel`).
"""

from __future__ import annotations

import asyncio
import copy
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import uvicorn
from starlette.types import ASGIApp

from line_emulator.app import create_app
from line_emulator.config import ChannelConfig, EmulatorConfig
from line_emulator.faults import quiet_dropped_connection_logs
from line_emulator.state import Channel, Emulator

TEST_CHANNEL_ID = "1000000001"
TEST_TOKEN = "test-channel-access-token"  # noqa: S105  # a fixture value, not a secret
# LINE's published signature test vector secret, so signatures can be checked by hand.
TEST_SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"  # noqa: S105
TEST_BOT_USER_ID = "U8e742f61d673b39c7fff3cecb7536ef0"


def default_test_config() -> EmulatorConfig:
    """One channel with a known token and secret and no quota; everything else LINE's."""
    channel = ChannelConfig(
        channel_id=TEST_CHANNEL_ID,
        access_token=TEST_TOKEN,
        channel_secret=TEST_SECRET,
        bot_user_id=TEST_BOT_USER_ID,
        quota_type="none",
    )
    return EmulatorConfig(channels=[channel], seed=1234)


@dataclass
class EmulatorServer:
    """An emulator served by uvicorn in a background thread on a free localhost port."""

    config: EmulatorConfig
    emulator: Emulator = field(init=False)
    url: str = field(init=False, default="")
    _server: uvicorn.Server | None = field(init=False, default=None)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.emulator = Emulator(self.config)

    @property
    def channel(self) -> Channel:
        """The first channel (the test channel under `default_test_config`)."""
        return next(iter(self.emulator.channels.values()))

    def start(self) -> None:
        quiet_dropped_connection_logs()
        self._server, self._thread, self.url = _serve_in_thread(
            create_app(self.config, self.emulator)
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self, config: EmulatorConfig | None = None) -> None:
        """Back to a fresh state under `config` (default: the one the server started with)."""
        self.emulator.reconfigure(copy.deepcopy(config or self.config))


def _serve_in_thread(app: ASGIApp) -> tuple[uvicorn.Server, threading.Thread, str]:
    # Port 0: the OS picks a free port. Letting uvicorn open the listener itself matters: a
    # socket handed in from outside made every request wait ~40 ms for delayed ACKs.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve()), name="asgi-test-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve any ASGI app (e.g. a webhook receiver) on a free localhost port; yields its URL."""
    server, thread, url = _serve_in_thread(app)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@contextmanager
def running_emulator(config: EmulatorConfig | None = None) -> Iterator[str]:
    """Serve an emulator for the duration of the block; yields its base URL."""
    with running_emulator_server(config) as server:
        yield server.url


@contextmanager
def running_emulator_server(config: EmulatorConfig | None = None) -> Iterator[EmulatorServer]:
    server = EmulatorServer(copy.deepcopy(config or default_test_config()))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[EmulatorServer]:
    with running_emulator_server(default_test_config()) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: EmulatorServer) -> EmulatorServer:
    emulator_server.reset(default_test_config())
    return emulator_server
