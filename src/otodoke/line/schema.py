"""Typed shapes of LINE webhook bodies, validated at the edge.

The envelope check is deliberately loose about event contents: every event needs only what
storage and deduplication need (`type`, `timestamp`, `webhookEventId`); the rest is kept raw, so
event types LINE adds later are stored too. The per-type models are checked when an event is
processed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class Source(_Loose):
    type: str
    # Not length-checked here: an event with a malformed ID is still stored (and rejected with
    # a reason, see services.rejection), never dropped with the rest of its delivery.
    userId: str | None = None  # noqa: N815 - LINE's field name


class DeliveryContext(_Loose):
    isRedelivery: bool = False  # noqa: N815


class IncomingEvent(_Loose):
    type: str = Field(min_length=1, max_length=40)
    timestamp: int = Field(ge=0)
    webhookEventId: str = Field(min_length=1, max_length=64)  # noqa: N815
    # "standby": another (module) channel is in control of the chat; store, never answer.
    mode: str = "active"
    source: Source | None = None
    deliveryContext: DeliveryContext | None = None  # noqa: N815

    @property
    def user_id(self) -> str:
        return (self.source.userId or "") if self.source is not None else ""

    @property
    def source_type(self) -> str:
        return self.source.type if self.source is not None else ""

    @property
    def occurred_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp / 1000, tz=UTC)

    @property
    def is_redelivery(self) -> bool:
        return self.deliveryContext is not None and self.deliveryContext.isRedelivery


class WebhookBody(_Loose):
    destination: str = ""
    events: list[IncomingEvent]


# --- per-type payloads, read while processing ---------------------------------------------


class FollowDetail(_Loose):
    isUnblocked: bool = False  # noqa: N815


class FollowEvent(_Loose):
    follow: FollowDetail = Field(default_factory=FollowDetail)


class PostbackDetail(_Loose):
    data: str = ""
    params: dict[str, Any] | None = None


class PostbackEvent(_Loose):
    postback: PostbackDetail


class MessageDetail(_Loose):
    type: str
    id: str = ""
    text: str | None = None


class MessageEvent(_Loose):
    message: MessageDetail


class LinkDetail(_Loose):
    result: Literal["ok", "failed"]
    nonce: str = ""


class AccountLinkEvent(_Loose):
    link: LinkDetail
