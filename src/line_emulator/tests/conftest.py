"""Fixtures: `emulator` is a real uvicorn-served emulator, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from line_emulator.testing import TEST_TOKEN, EmulatorServer, emulator, emulator_server

__all__ = ["api", "control", "emulator", "emulator_server"]


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """A client of the LINE API surface, authenticated as the test channel."""
    with httpx.Client(
        base_url=emulator.url, headers={"Authorization": f"Bearer {TEST_TOKEN}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
def control(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """A client of the control API, scoped to the test channel."""
    with httpx.Client(
        base_url=f"{emulator.url}/_emulator/channels/{emulator.channel.channel_id}", timeout=10
    ) as client:
        yield client


def make_friends(control: httpx.Client, count: int, status: str = "following") -> list[str]:
    response = control.post("/friends", json={"count": count, "status": status})
    assert response.status_code == 201
    return [f["user_id"] for f in response.json()["friends"]]


def text(value: str = "hello") -> list[dict[str, str]]:
    return [{"type": "text", "text": value}]
