"""Webhook events from simulated friends: building, signing, sending, recording, redelivering."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import httpx

from line_emulator.config import WebhookConfig
from line_emulator.state import (
    Channel,
    Emulator,
    ReplyToken,
    WebhookAttempt,
    WebhookDelivery,
)

# LINE: use a reply token within about a minute; after a redelivery it works again for a
# minute, but never once used or more than 20 minutes after the event.
REPLY_TOKEN_TTL = timedelta(minutes=1)
REPLY_TOKEN_MAX_AGE = timedelta(minutes=20)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
EVENTS_WITH_REPLY_TOKEN = frozenset({"message", "follow", "postback", "join", "memberJoined"})


def sign(secret: str, body: bytes) -> str:
    """x-line-signature: base64 of HMAC-SHA256 over the raw body, keyed by the channel secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def new_event_id(emulator: Emulator) -> str:
    """A ULID: 48-bit millisecond time then 80 random bits, in Crockford base32 (26 chars)."""
    value = (int(emulator.now().timestamp() * 1000) << 80) | emulator.random.getrandbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def make_event(
    emulator: Emulator, channel: Channel, user_id: str, kind: str, **payload: Any
) -> dict[str, Any]:
    now = emulator.now()
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(now.timestamp() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": new_event_id(emulator),
        "deliveryContext": {"isRedelivery": False},
    }
    if kind in EVENTS_WITH_REPLY_TOKEN:
        token = f"{emulator.random.getrandbits(128):032x}"
        emulator.reply_tokens[token] = ReplyToken(
            channel.channel_id, user_id, now, now + REPLY_TOKEN_TTL
        )
        event["replyToken"] = token
    event.update(payload)
    return event


def redelivery_delay(config: WebhookConfig, n: int) -> float:
    """Seconds before redelivery number `n` (0-based): doubling, capped."""
    delay: float = config.redelivery_interval_seconds * (2**n)
    return min(delay, config.redelivery_max_interval_seconds)


class WebhookSender:
    """Posts events to a channel's webhook URL and records each attempt's outcome."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        # No pool limit of its own: `_slots` bounds what is in flight, so a request never
        # waits for a pooled connection (httpx's PoolTimeout) inside its 2 s.
        self.client = httpx.AsyncClient(
            follow_redirects=False, limits=httpx.Limits(max_connections=None)
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots_size = 0
        self._slots = asyncio.Semaphore(1)

    def slots(self) -> asyncio.Semaphore:
        """The semaphore bounding webhook POSTs in flight (resized when the setting changes;
        POSTs holding the old one finish on it)."""
        size = max(1, int(self.emulator.config.webhook.max_concurrency))
        if size != self._slots_size:
            self._slots, self._slots_size = asyncio.Semaphore(size), size
        return self._slots

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.client.aclose()

    async def send(self, channel: Channel, events: list[dict[str, Any]]) -> WebhookDelivery:
        delivery = WebhookDelivery(
            delivery_id=f"{len(channel.webhook_deliveries) + 1}",
            channel_id=channel.channel_id,
            events=events,
        )
        channel.webhook_deliveries.append(delivery)
        await self.attempt(channel, delivery, is_redelivery=False)
        config = self.emulator.config.webhook
        if config.redelivery and not delivery.succeeded:
            task = asyncio.create_task(self._redeliver_later(channel, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return delivery

    async def _redeliver_later(self, channel: Channel, delivery: WebhookDelivery) -> None:
        config = self.emulator.config.webhook
        for n in range(config.redelivery_attempts):
            await asyncio.sleep(redelivery_delay(config, n))
            if await self.attempt(channel, delivery, is_redelivery=True):
                return

    async def attempt(
        self, channel: Channel, delivery: WebhookDelivery, *, is_redelivery: bool
    ) -> bool:
        """One POST of the delivery's events; True when the bot answered 2xx in time."""
        emulator = self.emulator
        if is_redelivery:
            self._renew_reply_tokens(delivery)
        events = [
            {**event, "deliveryContext": {"isRedelivery": is_redelivery}}
            for event in delivery.events
        ]
        body = json.dumps(
            {"destination": channel.config.bot_user_id, "events": events},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        attempt = WebhookAttempt(emulator.now(), is_redelivery, None, None)
        delivery.attempts.append(attempt)
        await self._post(channel, channel.config.webhook_url, body, attempt)
        return attempt.error is None

    async def check_endpoint(self, channel: Channel, url: str) -> WebhookAttempt:
        """LINE's "Verify": a signed POST with no events (a connectivity check the bot must
        answer 2xx), recorded nowhere; the caller reports the outcome."""
        body = json.dumps(
            {"destination": channel.config.bot_user_id, "events": []}, separators=(",", ":")
        ).encode()
        attempt = WebhookAttempt(self.emulator.now(), False, None, None)
        await self._post(channel, url, body, attempt)
        return attempt

    async def _post(
        self, channel: Channel, url: str | None, body: bytes, attempt: WebhookAttempt
    ) -> None:
        """One signed POST of `body` to `url`, its outcome written into `attempt` (error None
        when the bot answered 2xx in time)."""
        if not url:
            attempt.error, attempt.detail = "could_not_connect", "no webhook URL is set"
            return
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-line-signature": sign(channel.config.channel_secret, body),
            "user-agent": "LineBotWebhook/2.0",
        }
        try:
            async with self.slots():
                response = await self.client.post(
                    url,
                    content=body,
                    headers=headers,
                    timeout=self.emulator.config.webhook.timeout_seconds,
                )
        except httpx.TimeoutException as exc:
            attempt.error, attempt.detail = "request_timeout", type(exc).__name__
            return
        except httpx.TransportError as exc:
            attempt.error, attempt.detail = "could_not_connect", str(exc) or type(exc).__name__
            return
        attempt.status_code = response.status_code
        if not 200 <= response.status_code < 300:
            attempt.error = "error_status_code"

    def _renew_reply_tokens(self, delivery: WebhookDelivery) -> None:
        now = self.emulator.now()
        for event in delivery.events:
            token = self.emulator.reply_tokens.get(event.get("replyToken", ""))
            if token is not None:
                token.valid_until = min(
                    now + REPLY_TOKEN_TTL, token.event_time + REPLY_TOKEN_MAX_AGE
                )


def webhook_sender(emulator: Emulator) -> WebhookSender:
    """The emulator's sender, created on first use inside the running event loop."""
    sender = emulator.extensions.get("webhook_sender")
    if not isinstance(sender, WebhookSender):
        sender = emulator.extensions["webhook_sender"] = WebhookSender(emulator)
    return sender
