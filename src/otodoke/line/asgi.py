"""The LINE webhook under ASGI (`otodoke serve`), without Django's middleware stack.

Measured in bench/webhook_ingest.py: through Django's handler every webhook POST runs a dozen
middlewares (sessions, CSRF, auth, messages, locale, axes …) and a sync view in the single
thread_sensitive executor, none of which a signed machine-to-machine POST needs. This wrapper
answers `POST /line/webhook/<key>/` itself with the same checks as the view
(`otodoke.line.ingest`), and hands every other request to Django untouched.

Concurrent requests are group-committed: while one INSERT runs in the writer thread, the rows
of the requests arriving meanwhile wait and go together in the next statement; each request
is answered only after the transaction holding its rows committed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection
from django.http.request import split_domain_port, validate_host

from otodoke.line import ingest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# Django's ASGIHandler types its arguments more narrowly than the ASGI spec; accept any.
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

logger = logging.getLogger(__name__)

WEBHOOK_PATH = re.compile(r"^/line/webhook/([^/]{1,64})/$")


class GroupWriter:
    """Writes the rows of concurrent requests together, from one thread with one connection."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-writer")
        self.waiting: list[tuple[int, list[tuple[Any, ...]], asyncio.Future[None]]] = []
        self.flushing = False

    async def run(self, func: Callable[[], Any]) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, _db_call, func)

    async def store(self, workspace_id: int, rows: list[tuple[Any, ...]]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append((workspace_id, rows, future))
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self.flush())
        await future

    async def flush(self) -> None:
        try:
            while self.waiting:
                group, self.waiting = self.waiting, []
                rows = [row for _ws, ws_rows, _f in group for row in ws_rows]
                workspaces = {ws for ws, _rows, _f in group}
                try:
                    await self.run(partial(_write, rows, workspaces))
                except Exception as exc:  # every request of the group answers 500
                    for *_rest, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for *_rest, future in group:
                    if not future.done():
                        future.set_result(None)
        finally:
            self.flushing = False


def _db_call(func: Callable[[], Any]) -> Any:
    try:
        return func()
    except Exception:
        # A broken connection must not stay this thread's connection for the next group.
        connection.close()
        raise


def _close_connection() -> None:
    connection.close()  # this thread's connection, looked up in this thread


def _write(rows: list[tuple[Any, ...]], workspaces: set[int]) -> None:
    ingest.insert_rows(rows)
    ingest.wake_drainers(workspaces)


async def send_answer(send: Send, answer: ingest.Answer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(answer.body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > ingest.MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _headers(scope: Scope) -> tuple[str, str | None]:
    host, signature = "", None
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"x-line-signature":
            signature = value.decode("latin-1")
    return host, signature


class WebhookFastPath:
    """The ASGI application: the webhook answered here, everything else by Django."""

    def __init__(self, django_app: ASGIApp) -> None:
        self.django_app = django_app
        self.writer = GroupWriter()

    def close(self) -> None:
        """Close the writer thread's database connection and stop the thread (tests)."""
        self.writer.executor.submit(_close_connection).result()
        self.writer.executor.shutdown()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = WEBHOOK_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope.get("method") != "POST":
            await self.django_app(scope, receive, send)
            return
        await send_answer(send, await self.answer(scope, receive, match.group(1)))

    async def answer(self, scope: Scope, receive: Receive, key: str) -> ingest.Answer:
        host, signature = _headers(scope)
        domain, _port = split_domain_port(host)
        if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
            return ingest.Answer.error(400, "bad host")
        body = await _read_body(receive)
        if body is None:
            return ingest.Answer.error(413, "body too large")
        known, channel = ingest.cached_channel(key)
        if not known:
            channel = await self.writer.run(partial(ingest.channel_for, key))
        if channel is None:
            return ingest.UNKNOWN_KEY
        checked = ingest.check(channel, body, signature)
        if isinstance(checked, ingest.Answer):
            return checked
        if checked:
            try:
                await self.writer.store(channel.workspace_id, checked)
            except Exception:
                logger.exception("Webhook events not stored (LINE redelivers them)")
                return ingest.Answer.error(500, "not stored; redeliver")
        return ingest.OK


def webhook_fast_path(django_app: ASGIApp) -> WebhookFastPath:
    return WebhookFastPath(django_app)
