"""`otodoke serve` must not let a caller pick its own client IP with X-Forwarded-For: uvicorn
believes it from 127.0.0.1 by default, so anything on the machine (or a proxy that passes the
header through) could reset the link page's per-IP limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from django.core.management import call_command
from pytest_django.fixtures import Settings


def _served_client(monkeypatch: pytest.MonkeyPatch, peer: str, forwarded: str) -> str:
    """Run `otodoke serve` up to uvicorn, then push one request through the ASGI stack uvicorn
    would build with the same options, and return the client address the app is given."""
    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: captured.update(kwargs))
    call_command("serve")
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["client"] = scope["client"]

    options = {k: v for k, v in captured.items() if k not in {"host", "port", "workers"}}
    config = uvicorn.Config(app, **options)
    config.load()
    scope = {
        "type": "http",
        "scheme": "http",
        "client": (peer, 40000),
        "headers": [(b"x-forwarded-for", forwarded.encode())],
    }
    asyncio.run(config.loaded_app(scope, None, None))
    return str(seen["client"][0])


def test_serve_ignores_x_forwarded_for_without_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.TRUSTED_PROXIES = []
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")  # uvicorn's own switch does not widen it
    assert _served_client(monkeypatch, "127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_serve_believes_x_forwarded_for_from_a_configured_proxy_only(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert _served_client(monkeypatch, "10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert _served_client(monkeypatch, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
