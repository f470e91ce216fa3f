"""HTTP transports for one LINE API family (one base URL): auth, JSON, request IDs, errors.

A transport knows nothing about endpoints; `LineClient` adds the typed methods. The sync
transport (httpx) serves tasks and views; the async one (aiohttp) is for high fan-out, the
delivery dispatcher's thousands of pushes a second. Both turn every outcome into either a
`LineResponse` or a `LineApiError` subclass, so callers never see an HTTP library's exception.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx

from otodoke.line.client.errors import (
    PERMANENT_STATUSES,
    LineApiError,
    LineRateLimitError,
    LineRetryKeyAcceptedError,
    LineTransportError,
    rate_limit_kind,
)

# LINE answers most calls in well under a second; a read that takes 10 s is treated as lost
# (transient) and retried, with the same retry key where the endpoint takes one.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=10.0)
USER_AGENT = "Otodoke (+https://github.com/otodoke)"
REQUEST_ID_HEADER = "x-line-request-id"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context for every client (as campaigns.dispatch does for senders).

    httpx builds a new context per client otherwise, loading the CA bundle each time: ~30 ms
    of CPU, ~300 ms on a loaded 2-core box, paid per webhook event that fetches a profile.
    Sharing a context between clients and threads is safe.
    """
    return httpx.create_ssl_context()


ACCEPTED_REQUEST_ID_HEADER = "x-line-accepted-request-id"
RETRY_KEY_HEADER = "X-Line-Retry-Key"


@dataclass(frozen=True)
class LineResponse:
    status: int
    body: Any
    request_id: str | None
    accepted_request_id: str | None


def _headers(access_token: str, retry_key: str | None, has_body: bool) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {access_token}", "User-Agent": USER_AGENT}
    if has_body:
        headers["Content-Type"] = "application/json"
    if retry_key is not None:
        headers[RETRY_KEY_HEADER] = retry_key
    return headers


def _encode(body: Any) -> bytes | None:
    if body is None:
        return None
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _parse_body(content: bytes) -> Any:
    if not content:
        return {}
    try:
        return json.loads(content)
    except ValueError:
        return None


def to_result(response: httpx.Response, *, retry_key: str | None) -> LineResponse:
    """The parsed success, or the matching error for LINE's status and message."""
    return result_of(
        response.status_code,
        response.headers,
        response.content,
        response.reason_phrase,
        retry_key=retry_key,
    )


def result_of(
    status: int,
    headers: Mapping[str, str],
    content: bytes,
    reason: str,
    *,
    retry_key: str | None,
) -> LineResponse:
    """`to_result` for any HTTP library: `headers` must look names up case-insensitively."""
    request_id = headers.get(REQUEST_ID_HEADER)
    accepted_id = headers.get(ACCEPTED_REQUEST_ID_HEADER)
    body = _parse_body(content)
    if 200 <= status < 300:
        if body is None:
            raise LineTransportError(f"LINE answered {status} with a body that is not JSON")
        return LineResponse(status, body, request_id, accepted_id)

    data: dict[str, Any] = body if isinstance(body, dict) else {}
    # OAuth endpoints use {error, error_description}; everything else {message, details}.
    message = str(data.get("message") or data.get("error_description") or reason)
    details = data.get("details") if isinstance(data.get("details"), list) else None
    common: dict[str, Any] = {
        "details": details,
        "request_id": request_id,
        "accepted_request_id": accepted_id,
        "body": data,
    }
    if status == 429:
        raise LineRateLimitError(status, message, kind=rate_limit_kind(message), **common)
    if status == 409 and (retry_key is not None or accepted_id is not None):
        raise LineRetryKeyAcceptedError(status, message, **common)
    permanent = status in PERMANENT_STATUSES or (400 <= status < 500 and status != 408)
    raise LineApiError(status, message, permanent=permanent, **common)


def _transport_error(exc: httpx.HTTPError) -> LineTransportError:
    timeout = isinstance(exc, httpx.TimeoutException)
    detail = str(exc) or type(exc).__name__
    return LineTransportError(f"{type(exc).__name__}: {detail}", timeout=timeout)


class LineTransport:
    """Synchronous calls to one base URL with one channel access token."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        http: httpx.Client | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self._owns_http = http is None
        self.http = (
            http if http is not None else httpx.Client(timeout=timeout, verify=tls_context())
        )

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        retry_key: str | None = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> LineResponse:
        """`json_body` is sent as JSON; `raw` bytes (an image upload) as `content_type`."""
        content = _encode(json_body) if raw is None else raw
        headers = _headers(self._token, retry_key, content is not None)
        if raw is not None and content_type:
            headers["Content-Type"] = content_type
        try:
            response = self.http.request(
                method,
                self.base_url + path,
                content=content,
                params=params,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc
        return to_result(response, retry_key=retry_key)

    def download(self, path: str, *, max_bytes: int) -> tuple[bytes, str]:
        """GET binary content (api-data.line.me's message content): (bytes, content type).

        Errors come back as for `request`; a body past `max_bytes` is a permanent error (LINE
        caps what a friend can send, so more is not LINE's content)."""
        try:
            with self.http.stream(
                "GET", self.base_url + path, headers=_headers(self._token, None, False)
            ) as response:
                if not 200 <= response.status_code < 300:
                    response.read()
                    to_result(response, retry_key=None)
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise LineApiError(
                            response.status_code,
                            f"content larger than {max_bytes} bytes",
                            request_id=response.headers.get(REQUEST_ID_HEADER),
                            permanent=True,
                        )
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "application/octet-stream")
                return b"".join(chunks), content_type.split(";")[0].strip()
        except httpx.HTTPError as exc:
            raise _transport_error(exc) from exc


# The async transport's limits: as DEFAULT_TIMEOUT, per socket operation (no total, so a
# request waiting for a pooled connection is not cut short by the pool).
ASYNC_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=10.0)


def async_session(
    *, max_connections: int, timeout: aiohttp.ClientTimeout = ASYNC_TIMEOUT
) -> aiohttp.ClientSession:
    """A pooled aiohttp session for `AsyncLineTransport`; call from inside the event loop.

    aiohttp rather than httpx for the dispatcher: its C parser and plain per-host pool cost a
    fraction of httpx's ~1.8 ms of CPU per request (measured in the delivery bench), which had
    capped a personalised push send near 550 requests/s on one core.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections, ssl=tls_context()),
        timeout=timeout,
        # LINE's answers are small JSON; no cookies, no proxies from the environment.
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
        auto_decompress=True,
    )


class AsyncLineTransport:
    """The same contract as `LineTransport`, for asyncio callers (on an aiohttp session)."""

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        http: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self._owns_http = http is None
        self.http = http if http is not None else async_session(max_connections=max_connections)

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        retry_key: str | None = None,
    ) -> LineResponse:
        content = _encode(json_body)
        try:
            async with self.http.request(
                method,
                self.base_url + path,
                data=content,
                params=params,
                headers=_headers(self._token, retry_key, content is not None),
                allow_redirects=False,
            ) as response:
                raw = await response.read()
                return result_of(
                    response.status,
                    response.headers,
                    raw,
                    response.reason or "",
                    retry_key=retry_key,
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            timeout = isinstance(exc, TimeoutError)
            detail = str(exc) or type(exc).__name__
            raise LineTransportError(f"{type(exc).__name__}: {detail}", timeout=timeout) from exc
