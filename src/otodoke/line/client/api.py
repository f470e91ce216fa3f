"""`LineClient`: typed LINE Messaging API calls for one workspace, over one transport per family.

Add an endpoint by adding a method that calls `self.messaging.request(...)` (or `self.data`)
and maps the body to a small dataclass; errors need no handling here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import httpx

from otodoke.core.crypto import revealed
from otodoke.line.client.errors import LineApiError, LineRateLimitError, LineTransportError
from otodoke.line.client.hosts import LineHosts, hosts_for
from otodoke.line.client.transport import (
    DEFAULT_TIMEOUT,
    LineResponse,
    LineTransport,
    tls_context,
)

if TYPE_CHECKING:
    from otodoke.workspaces.models import Workspace

# followers/ids: LINE's maximum page size (the default is 300).
FOLLOWER_PAGE_LIMIT = 1000


@dataclass(frozen=True)
class LineProfile:
    user_id: str
    display_name: str
    picture_url: str | None = None
    language: str | None = None
    status_message: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> LineProfile:
        return cls(
            user_id=str(body.get("userId", "")),
            display_name=str(body.get("displayName", "")),
            picture_url=body.get("pictureUrl") or None,
            language=body.get("language") or None,
            status_message=body.get("statusMessage") or None,
        )


@dataclass(frozen=True)
class FollowerPage:
    user_ids: list[str]
    next: str | None
    request_id: str | None


def _path_part(value: str) -> str:
    return quote(value, safe="")


class LineClient:
    """Calls to LINE for one channel. Use as a context manager, or call `close()`."""

    def __init__(self, *, messaging: LineTransport, data: LineTransport, hosts: LineHosts) -> None:
        self.messaging = messaging
        self.data = data
        self.hosts = hosts
        self._shared_http: httpx.Client | None = None

    @classmethod
    def for_workspace(
        cls, workspace: Workspace, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT
    ) -> LineClient:
        return cls.for_credentials(
            workspace.api_base_url, revealed(workspace.channel_access_token), timeout=timeout
        )

    @classmethod
    def for_credentials(
        cls, api_base_url: str, access_token: str, *, timeout: httpx.Timeout = DEFAULT_TIMEOUT
    ) -> LineClient:
        hosts = hosts_for(api_base_url)
        # One pool for both families: keep-alive per host still applies inside it.
        http = httpx.Client(timeout=timeout, verify=tls_context())
        client = cls(
            messaging=LineTransport(hosts.messaging, access_token, http=http),
            data=LineTransport(hosts.data, access_token, http=http),
            hosts=hosts,
        )
        client._shared_http = http
        return client

    def close(self) -> None:
        self.messaging.close()
        self.data.close()
        if self._shared_http is not None:
            self._shared_http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- bot and users ---------------------------------------------------------------------

    def get_profile(self, user_id: str) -> LineProfile:
        """404 (a LineApiError, permanent) when the user blocked the OA or is no friend.

        A profile for another user than the one asked for is refused (permanent): storing it
        would give this friend someone else's name."""
        response = self.messaging.request("GET", f"/v2/bot/profile/{_path_part(user_id)}")
        profile = LineProfile.from_body(response.body)
        if profile.user_id != user_id:
            raise LineApiError(
                response.status,
                f"LINE answered the profile of {profile.user_id or 'no user'!r} when asked "
                f"for {user_id!r}",
                request_id=response.request_id,
                permanent=True,
            )
        return profile

    def get_follower_page(
        self, start: str | None = None, *, limit: int = FOLLOWER_PAGE_LIMIT
    ) -> FollowerPage:
        params: dict[str, Any] = {"limit": limit}
        if start:
            params["start"] = start
        response = self.messaging.request("GET", "/v2/bot/followers/ids", params=params)
        body = response.body
        return FollowerPage(
            user_ids=[str(u) for u in body.get("userIds", [])],
            next=body.get("next") or None,
            request_id=response.request_id,
        )

    def iter_follower_ids(
        self,
        *,
        limit: int = FOLLOWER_PAGE_LIMIT,
        retry: Callable[[Callable[[], FollowerPage]], FollowerPage] | None = None,
    ) -> Iterator[list[str]]:
        """Yield pages of follower user IDs, following `next` until LINE stops sending one.

        A page may be shorter than `limit` even when more follow (LINE says so), so only the
        absence of `next` ends the walk. `retry` wraps each page call (e.g. `with_backoff`).
        A `next` LINE already sent in this walk would start it over and never end: that
        raises a permanent LineApiError after the page that carried it.
        """
        start: str | None = None
        seen: set[str] = set()
        while True:
            cursor = start

            def fetch(cursor: str | None = cursor) -> FollowerPage:
                return self.get_follower_page(cursor, limit=limit)

            page = retry(fetch) if retry is not None else fetch()
            yield page.user_ids
            if not page.next:
                return
            if page.next in seen:
                raise LineApiError(
                    200,
                    f"LINE sent the follower-ID cursor {page.next[:40]!r} a second time; the "
                    f"walk stopped after {len(seen) + 1} pages instead of looping for ever",
                    request_id=page.request_id,
                    permanent=True,
                )
            seen.add(page.next)
            start = page.next

    def issue_link_token(self, user_id: str) -> str:
        """A single-use account-link token for this user, valid about 10 minutes."""
        response = self.messaging.request("POST", f"/v2/bot/user/{_path_part(user_id)}/linkToken")
        return str(response.body["linkToken"])

    def push(self, to: str, messages: list[dict[str, Any]], *, retry_key: str) -> str:
        """Push messages to one user; returns LINE's request ID. Reuse `retry_key` on retries:
        a repeat LINE already accepted comes back as LineRetryKeyAcceptedError (409)."""
        response = self.messaging.request(
            "POST",
            "/v2/bot/message/push",
            json_body={"to": to, "messages": messages},
            retry_key=retry_key,
        )
        return response.request_id or ""

    def reply(self, reply_token: str, messages: list[dict[str, Any]]) -> str:
        """Answer a webhook event with its reply token (free: not counted against the monthly
        quota). A used or expired token is a permanent 400 `Invalid reply token`."""
        response = self.messaging.request(
            "POST",
            "/v2/bot/message/reply",
            json_body={"replyToken": reply_token, "messages": messages},
        )
        return response.request_id or ""

    def get_message_content(self, message_id: str, *, max_bytes: int) -> tuple[bytes, str]:
        """The image, video, audio or file a friend sent (api-data.line.me, GET
        /v2/bot/message/{messageId}/content): (bytes, content type). LINE keeps it for a
        limited time; after that, or for a message without content, 404 (permanent)."""
        return self.data.download(
            f"/v2/bot/message/{_path_part(message_id)}/content", max_bytes=max_bytes
        )

    # --- rich menus ------------------------------------------------------------------------

    def create_rich_menu(self, menu: dict[str, Any]) -> str:
        """Create a rich menu (LINE: 100 per hour); returns its `richMenuId`."""
        response = self.messaging.request("POST", "/v2/bot/richmenu", json_body=menu)
        return str(response.body["richMenuId"])

    def upload_rich_menu_image(self, rich_menu_id: str, image: bytes, content_type: str) -> None:
        """The menu's image (JPEG or PNG, at most 1 MB), on the api-data host; once per menu."""
        self.data.request(
            "POST",
            f"/v2/bot/richmenu/{_path_part(rich_menu_id)}/content",
            raw=image,
            content_type=content_type,
        )

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self.messaging.request("DELETE", f"/v2/bot/richmenu/{_path_part(rich_menu_id)}")

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        """The menu every friend without a per-user menu sees."""
        self.messaging.request("POST", f"/v2/bot/user/all/richmenu/{_path_part(rich_menu_id)}")

    def cancel_default_rich_menu(self) -> None:
        self.messaging.request("DELETE", "/v2/bot/user/all/richmenu")

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        self.messaging.request(
            "POST",
            "/v2/bot/richmenu/alias",
            json_body={"richMenuAliasId": alias_id, "richMenuId": rich_menu_id},
        )

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        self.messaging.request(
            "POST",
            f"/v2/bot/richmenu/alias/{_path_part(alias_id)}",
            json_body={"richMenuId": rich_menu_id},
        )

    def link_rich_menu_to_users(self, rich_menu_id: str, user_ids: list[str]) -> None:
        """Bulk link (202, applied asynchronously by LINE): 1 to 500 user IDs per call."""
        self.messaging.request(
            "POST",
            "/v2/bot/richmenu/bulk/link",
            json_body={"richMenuId": rich_menu_id, "userIds": user_ids},
        )

    def unlink_rich_menu_from_users(self, user_ids: list[str]) -> None:
        """Bulk unlink (202): the users see the default menu again; 1 to 500 user IDs."""
        self.messaging.request(
            "POST", "/v2/bot/richmenu/bulk/unlink", json_body={"userIds": user_ids}
        )

    def get_user_rich_menu(self, user_id: str) -> str | None:
        """The per-user menu linked to this user, None when there is none (LINE's 404)."""
        try:
            response = self.messaging.request("GET", f"/v2/bot/user/{_path_part(user_id)}/richmenu")
        except LineApiError as exc:
            if exc.status == 404:
                return None
            raise
        return str(response.body["richMenuId"])

    # --- generic ---------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        retry_key: str | None = None,
        data_api: bool = False,
    ) -> LineResponse:
        """Any endpoint not wrapped yet; `data_api` picks the api-data.line.me family."""
        transport = self.data if data_api else self.messaging
        return transport.request(
            method, path, json_body=json_body, params=params, retry_key=retry_key
        )


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter (LINE publishes no Retry-After)."""
    ceiling: float = min(cap, base * (2**attempt))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


def with_backoff[T](
    call: Callable[[], T],
    *,
    attempts: int = 6,
    sleep: Callable[[float], None] = time.sleep,
    on_wait: Callable[[LineApiError, float], None] | None = None,
) -> T:
    """Run `call`, retrying transient failures (429 rate limit, 5xx, timeouts) with backoff.

    Permanent errors and the monthly-quota 429 are raised at once: waiting seconds does not
    fix them.
    """
    for attempt in range(attempts):
        try:
            return call()
        except LineApiError as exc:
            retryable = exc.transient and not (
                isinstance(exc, LineRateLimitError) and exc.kind == "monthly_limit"
            )
            if not retryable or attempt == attempts - 1:
                raise
            delay = backoff_delay(attempt)
            if on_wait is not None:
                on_wait(exc, delay)
            sleep(delay)
    raise LineTransportError("unreachable")  # pragma: no cover - the loop returns or raises
