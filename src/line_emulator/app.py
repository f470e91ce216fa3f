"""The ASGI application: routes from every endpoint module, wrapped in LINE-like middleware."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from line_emulator.config import EmulatorConfig
from line_emulator.faults import FaultMiddleware
from line_emulator.friends import create_friends
from line_emulator.http import LineError, line_error
from line_emulator.middleware import BodyLimitMiddleware, RequestIdMiddleware
from line_emulator.persist import keep_saving, load
from line_emulator.state import Emulator
from line_emulator.validation import load_sdk
from line_emulator.webhooks import WebhookSender

# Each module exposes `routes: list[BaseRoute]`. Add one line per new endpoint module.
ROUTE_MODULES: list[str] = [
    "line_emulator.messaging",
    "line_emulator.statistics",
    # Before control: its /friends/{user}/send must win over /friends/{user}/{action}.
    "line_emulator.content",
    "line_emulator.control",
    "line_emulator.phone_compose",
    "line_emulator.phone",
    "line_emulator.narrowcast",
    "line_emulator.audience_routes",
    "line_emulator.insight",
    "line_emulator.richmenu",
    "line_emulator.richmenu_alias",
    "line_emulator.phone_richmenu",
    "line_emulator.accounts",
    "line_emulator.webhook_routes",
]


def collect_routes() -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for name in ROUTE_MODULES:
        module = importlib.import_module(name)
        routes.extend(module.routes)
    return routes


async def _line_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LineError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    return line_error(exc.status_code, message)


def create_app(
    config: EmulatorConfig, emulator: Emulator | None = None, state_file: Path | None = None
) -> Starlette:
    """The emulator's app. With `state_file`, the state saved there is restored now and kept
    there while the server runs (see `line_emulator.persist`)."""
    emulator = emulator if emulator is not None else Emulator(config)
    load_sdk()
    restored = state_file is not None and load(emulator, state_file)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        saver = asyncio.create_task(keep_saving(emulator, state_file)) if state_file else None
        try:
            yield
        finally:
            if saver is not None:
                saver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await saver
            sender = emulator.extensions.pop("webhook_sender", None)
            if isinstance(sender, WebhookSender):
                await sender.aclose()

    app = Starlette(
        routes=collect_routes(),
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(BodyLimitMiddleware, max_bytes=config.max_body_bytes),
            Middleware(FaultMiddleware, emulator=emulator),
        ],
        exception_handlers={LineError: _line_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.emulator = emulator
    if config.initial_friends and not restored:
        for channel in emulator.channels.values():
            create_friends(emulator, channel, config.initial_friends)
    return app
