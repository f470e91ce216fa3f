"""Helpers for the narrowcast/audience/insight/rich-menu/account tests.

`Line` wraps the shared real-HTTP emulator (`emulator` fixture from `line_emulator.testing`)
with a client authenticated as the test channel; `webhook_receiver` is a local bot endpoint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from line_emulator.friends import create_friends
from line_emulator.state import Channel, Emulator
from line_emulator.testing import TEST_SECRET, TEST_TOKEN, EmulatorServer, serving

SECRET = TEST_SECRET


@dataclass
class Line:
    """The running emulator, its test channel and an authenticated client."""

    url: str
    emulator: Emulator
    channel: Channel
    client: httpx.Client

    def friends(self, count: int) -> list[str]:
        return [f.user_id for f in create_friends(self.emulator, self.channel, count)]

    def advance(self, seconds: float) -> None:
        self.emulator.advance_clock(seconds)


@contextmanager
def line_on(server: EmulatorServer) -> Iterator[Line]:
    headers = {"authorization": f"Bearer {TEST_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        yield Line(server.url, server.emulator, server.channel, client)


@dataclass
class Receiver:
    """Records every webhook POST as (headers, raw body)."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A bot's webhook endpoint on a free local port, answering 200 to everything."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        return PlainTextResponse("ok")

    with serving(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield Receiver(f"{url}/hook", received)
