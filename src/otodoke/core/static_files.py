"""Static files (and /favicon.ico) under ASGI without Django's sync-iterator warning.

WhiteNoise's middleware answers with a `FileResponse` over a plain file object. Under ASGI
(`otodoke serve` runs uvicorn) Django must then drain that sync iterator in a thread and warns
"StreamingHttpResponse must consume synchronous iterators…" for every CSS or JS file. Here the
same file is streamed by an async generator when the request came in over ASGI; under WSGI (the
test server) WhiteNoise's own response is kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import IO, Any, cast

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import (  # type: ignore[import-untyped]
    WhiteNoiseFileResponse,
    WhiteNoiseMiddleware,
)

CHUNK = 64 * 1024


async def _chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()


class AsyncStaticMiddleware(WhiteNoiseMiddleware):  # type: ignore[misc]
    @staticmethod
    def serve(static_file: Any, request: HttpRequest) -> HttpResponseBase:
        if not isinstance(request, ASGIRequest):
            return cast(HttpResponseBase, WhiteNoiseMiddleware.serve(static_file, request))
        answer = static_file.get_response(request.method, request.META)
        body = _chunks(answer.file) if answer.file is not None else ()
        http_response: HttpResponseBase = WhiteNoiseFileResponse(body, status=int(answer.status))
        del http_response["content-type"]
        for key, value in answer.headers:
            http_response[key] = value
        return http_response
