"""Webhook events: verify, store raw (deduplicated), then process each one idempotently.

Ingest (`verify_signature`, `parse_body`, `store_events`) runs inside the webhook request and
does nothing but check and record; processing (`process_event`) runs in a task afterwards.
Processing an event twice, or two workers at once, has the effect of processing it once: the
event row is locked and its status checked inside the transaction that applies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError

from otodoke.contacts.models import LINE_USER_ID_RE, Contact, LineStatus
from otodoke.core import jsontext
from otodoke.line import profiles, schema, signals
from otodoke.line.client import LineProfile
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.profiles import Prefetched as Prefetched
from otodoke.line.profiles import prefetch
from otodoke.line.signals import announce
from otodoke.workspaces.models import Workspace

logger = logging.getLogger(__name__)

FINISHED = (WebhookStatus.PROCESSED, WebhookStatus.IGNORED, WebhookStatus.REJECTED)
# Automatic retries of a failing event: 10 s, 20 s, 40 s … capped at an hour, then it stays
# `failed` (visible) until `otodoke webhooks retry` re-enqueues it.
MAX_AUTOMATIC_ATTEMPTS = 8
RETRY_BASE = timedelta(seconds=10)
RETRY_CAP = timedelta(hours=1)


# --- ingest --------------------------------------------------------------------------------


def signature_for(channel_secret: str, body: bytes) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature(channel_secret: str, body: bytes, signature: str | None) -> bool:
    """x-line-signature is base64(HMAC-SHA256(channel secret, raw body)); constant-time check."""
    if not signature:
        return False
    expected = signature_for(channel_secret, body).encode()
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


class InvalidWebhookBody(ValueError):  # noqa: N818 - reads as what it is
    pass


@dataclass(frozen=True)
class ParsedWebhook:
    body: schema.WebhookBody
    # The events exactly as LINE sent them, stored whatever the typed model knows of them.
    raw_events: list[dict[str, Any]]


def parse_body(raw: bytes) -> ParsedWebhook:
    try:
        data = jsontext.loads(raw)
        body = schema.WebhookBody.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise InvalidWebhookBody(str(exc)[:500]) from exc
    return ParsedWebhook(body, data["events"])


def rejection(event: schema.IncomingEvent) -> str:
    """Why this event must not be applied at all ("" when it may), decided at the edge.

    A signed body is LINE's, but the IDs in it still go into contacts and LINE API paths, so
    anything that is not a LINE user ID (U + 32 lowercase hex) stops here.
    """
    user_id = event.source.userId if event.source is not None else None
    if user_id is not None and not LINE_USER_ID_RE.match(user_id):
        return "rejected: source.userId is not a LINE user ID (U + 32 lowercase hex)"
    return ""


def store_events(workspace: Workspace, parsed: ParsedWebhook) -> list[str]:
    """Record every event (one row per webhookEventId, one INSERT … ON CONFLICT DO NOTHING,
    `otodoke.line.ingest`) and wake a drainer after commit. Returns the event IDs.

    Redeliveries and duplicates are skipped by the database itself, so two concurrent
    deliveries of one event cannot both insert it. The drain processes every pending event of
    the workspace, so an event whose wake-up was lost (a crash right after commit) is picked
    up by the next one.
    """
    from otodoke.line import ingest

    rows = ingest.event_rows(workspace.pk, parsed, timezone.now())
    ids = [row[1] for row in rows]
    if rows:
        workspace_id = workspace.pk
        with transaction.atomic():
            ingest.insert_rows(rows)
            transaction.on_commit(lambda: schedule_processing(workspace_id))
    return ids


# Workspace ID -> epoch seconds at which this process's queued drain task will run.
_drain_scheduled_at: dict[int, float] = {}
_drain_lock = threading.Lock()
# A drain due this close to now may already be reading; schedule another to be safe.
_DRAIN_MARGIN = 0.05


def schedule_processing(workspace_id: int) -> None:
    """Make sure a drain task will run after this commit: enqueue one, unless this process
    already queued one that starts later (it will read this commit's events).

    Coalescing turns a burst of N webhook requests into about one task per
    LINE_WEBHOOK_BATCH_SECONDS instead of N task inserts, which is most of the ingest cost.
    """
    from otodoke.line.tasks import process_pending_webhooks

    window = float(settings.LINE_WEBHOOK_BATCH_SECONDS)
    if window <= 0:
        process_pending_webhooks.enqueue(workspace_id)
        return
    now = time.time()
    with _drain_lock:
        if _drain_scheduled_at.get(workspace_id, 0.0) > now + _DRAIN_MARGIN:
            return
        run_at = _drain_scheduled_at[workspace_id] = now + window
    try:
        process_pending_webhooks.using(run_after=datetime.fromtimestamp(run_at, UTC)).enqueue(
            workspace_id
        )
    except BaseException:
        with _drain_lock:
            _drain_scheduled_at.pop(workspace_id, None)
        raise


# --- processing ----------------------------------------------------------------------------


@dataclass
class Outcome:
    status: WebhookStatus = WebhookStatus.PROCESSED
    note: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


Processor = Callable[[WebhookEvent, Prefetched], Outcome]


def retry_delay(attempts: int) -> timedelta:
    delay: timedelta = RETRY_BASE * (2 ** max(0, attempts - 1))
    return min(RETRY_CAP, delay)


@dataclass(frozen=True)
class ProcessResult:
    status: str
    retry_at: datetime | None = None


def process_event(pk: int) -> ProcessResult:
    """Apply one stored event. Safe to call any number of times, from any number of workers.

    On failure the event is left `failed` with the error and attempt count, and `retry_at`
    says when the caller should try again (None once automatic attempts are used up).
    """
    event = WebhookEvent.objects.select_related("workspace").filter(pk=pk).first()
    if event is None or event.status in FINISHED:
        return ProcessResult(event.status if event else "missing")
    processor = PROCESSORS.get(event.event_type, ignore_unknown)
    # Network first, outside any transaction: a LINE call must never hold database locks.
    prefetched = prefetch(event)
    try:
        with transaction.atomic():
            locked = WebhookEvent.objects.select_for_update().get(pk=pk)
            if locked.status in FINISHED:
                return ProcessResult(locked.status)
            locked.workspace = event.workspace
            outcome = processor(locked, prefetched)
            WebhookEvent.objects.filter(pk=pk).update(
                status=outcome.status,
                outcome=outcome.note[:200],
                payload=outcome.payload,
                processed_at=timezone.now(),
                attempts=F("attempts") + 1,
                last_error="",
                next_attempt_at=None,
            )
        return ProcessResult(outcome.status)
    except Exception as exc:
        logger.exception("Processing webhook event %s failed", event.webhook_event_id)
        return record_failure(pk, exc)


def record_failure(pk: int, exc: BaseException) -> ProcessResult:
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=pk).first()
        if event is None or event.status in FINISHED:
            return ProcessResult(event.status if event else "missing")
        attempts = event.attempts + 1
        retry_at = (
            timezone.now() + retry_delay(attempts) if attempts < MAX_AUTOMATIC_ATTEMPTS else None
        )
        WebhookEvent.objects.filter(pk=pk).update(
            status=WebhookStatus.FAILED,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=retry_at,
        )
    return ProcessResult(WebhookStatus.FAILED, retry_at)


# --- contacts ------------------------------------------------------------------------------


def locked_line_contact(workspace: Workspace, user_id: str) -> Contact:
    """The workspace's contact for this LINE user, locked; a LINE-only one is created if none.

    Creation races are settled by the (workspace, line_user_id) unique constraint: the loser
    of an insert race reads the winner's row.
    """
    found = (
        Contact.objects.select_for_update()
        .filter(workspace=workspace, line_user_id=user_id)
        .first()
    )
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Contact.objects.create(workspace=workspace, line_user_id=user_id)
    except IntegrityError:
        return Contact.objects.select_for_update().get(workspace=workspace, line_user_id=user_id)


def friend_status(followed: datetime | None, unfollowed: datetime | None) -> str:
    """Whichever happened last wins, so events applied in any order end in the same state."""
    if followed is not None and (unfollowed is None or followed >= unfollowed):
        return LineStatus.FOLLOWING
    if unfollowed is not None:
        return LineStatus.BLOCKED
    return LineStatus.NONE


def apply_profile(contact: Contact, profile: LineProfile | None) -> list[str]:
    if profile is None:
        return []
    contact.line_display_name = profile.display_name[:200]
    contact.line_picture_url = (profile.picture_url or "")[:500]
    contact.line_language = (profile.language or "")[:20]
    return ["line_display_name", "line_picture_url", "line_language"]


def record_follow(
    workspace: Workspace, user_id: str, at: datetime, profile: LineProfile | None = None
) -> Contact:
    contact = locked_line_contact(workspace, user_id)
    if contact.line_followed_at is None or at > contact.line_followed_at:
        contact.line_followed_at = at
    if contact.line_first_followed_at is None or at < contact.line_first_followed_at:
        contact.line_first_followed_at = at
    contact.line_status = friend_status(contact.line_followed_at, contact.line_unfollowed_at)
    fields = ["line_followed_at", "line_first_followed_at", "line_status", "updated_at"]
    contact.save(update_fields=fields + apply_profile(contact, profile))
    return contact


def record_unfollow(workspace: Workspace, user_id: str, at: datetime) -> Contact:
    contact = locked_line_contact(workspace, user_id)
    if contact.line_unfollowed_at is None or at > contact.line_unfollowed_at:
        contact.line_unfollowed_at = at
    contact.line_status = friend_status(contact.line_followed_at, contact.line_unfollowed_at)
    contact.save(update_fields=["line_unfollowed_at", "line_status", "updated_at"])
    signals.friend_unfollowed.send(
        sender=Contact, contact=contact, contact_id=contact.pk, workspace=workspace, at=at
    )
    return contact


# --- processors, one per event type --------------------------------------------------------


def process_follow(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    if not event.source_user_id:
        return Outcome(WebhookStatus.IGNORED, "follow without a user ID")
    detail = schema.FollowEvent.model_validate(event.raw)
    contact = record_follow(
        event.workspace, event.source_user_id, event.timestamp, prefetched.profile
    )
    kind = "unblock" if detail.follow.isUnblocked else "follow"
    if contact.line_status == LineStatus.FOLLOWING:
        announce(
            signals.friend_followed, event, contact.pk, refollow=bool(detail.follow.isUnblocked)
        )
    note = f"{kind}: contact {contact.pk} is {contact.line_status}"
    if prefetched.profile is not None:
        profiles.forget(event.workspace, [event.source_user_id])
    elif prefetched.profile_error:
        due = profiles.note_missing(event.workspace, event.source_user_id, prefetched.profile_error)
        if due is not None:
            profiles.schedule_retry(event.workspace.pk, due)
        note += " (profile not fetched yet; retried later)"
    else:
        note += " (profile not fetched)"
    return Outcome(note=note, payload={"is_unblocked": detail.follow.isUnblocked})


def process_unfollow(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    if not event.source_user_id:
        return Outcome(WebhookStatus.IGNORED, "unfollow without a user ID")
    contact = record_unfollow(event.workspace, event.source_user_id, event.timestamp)
    return Outcome(note=f"unfollow: contact {contact.pk} is {contact.line_status}")


def parse_postback_data(data: str) -> dict[str, str | list[str]]:
    """`action=buy&item=1` → {"action": "buy", "item": "1"}; a repeated key keeps every value."""
    parsed: dict[str, str | list[str]] = {}
    for key, value in parse_qsl(data, keep_blank_values=True):
        if key in parsed:
            previous = parsed[key]
            parsed[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            parsed[key] = value
    return parsed


def process_postback(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    detail = schema.PostbackEvent.model_validate(event.raw).postback
    payload: dict[str, Any] = {"data": detail.data, "params": parse_postback_data(detail.data)}
    params = detail.params or {}
    # LINE puts two kinds of thing in `params`: what a datetime picker chose (date / time /
    # datetime), or how a rich-menu switch went (newRichMenuAliasId, status). Keep them apart.
    if "newRichMenuAliasId" in params or "status" in params:
        payload["richmenu_switch"] = params
    elif params:
        payload["datetime_params"] = {k: v for k, v in params.items() if k in DATETIME_PARAMS}
    if not must_stay_silent(event):
        announce(signals.postback_received, event, prefetched.contact_id, data=detail.data)
    return Outcome(note="postback stored", payload=payload)


DATETIME_PARAMS = ("date", "time", "datetime")
# LINE: a reply token is good for about a minute after the (re)delivery that carried it, and
# never more than 20 minutes after the event. Leave a margin for the time a reply takes.
REPLY_TOKEN_TTL = timedelta(seconds=50)
REPLY_TOKEN_MAX_AGE = timedelta(minutes=19)


def reply_window(event: WebhookEvent) -> tuple[str, float]:
    """The event's reply token and until when (epoch seconds) it may still be used; ("", 0)
    when there is none, so the caller pushes instead."""
    token = event.raw.get("replyToken")
    if not isinstance(token, str) or not token:
        return "", 0.0
    until = min(event.received_at + REPLY_TOKEN_TTL, event.timestamp + REPLY_TOKEN_MAX_AGE)
    return token, until.timestamp()


def must_stay_silent(event: WebhookEvent) -> str:
    """Why Otodoke must not answer this event ("" when it may), by LINE's meaning of it."""
    if event.raw.get("mode") == "standby":
        # Another channel (a module) is in control of the chat: LINE gives no reply token and
        # expects the bot to keep quiet.
        return "standby mode, not answered"
    source = event.raw.get("source")
    if not isinstance(source, dict) or source.get("type") != "user":
        # A keyword typed in a group or a room is addressed to everyone there, not a request
        # of that one friend to link their membership.
        return "sent in a group or room chat, not answered"
    return ""


def process_message(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    from otodoke.line.invites import is_link_keyword
    from otodoke.line.tasks import invite_to_link
    from otodoke.line.unlinking import is_unlink_keyword, request_unlink_page

    message = schema.MessageEvent.model_validate(event.raw).message
    payload: dict[str, Any] = {"message_type": message.type, "message_id": message.id}
    note = f"{message.type} message stored"
    if message.text is not None:
        payload["text"] = message.text
        user_id = event.source_user_id
        if user_id and is_link_keyword(event.workspace, message.text):
            silent = must_stay_silent(event)
            if silent:
                note += f"; link keyword {silent}"
                return Outcome(note=note, payload=payload)
            # Enqueued once: this transaction commits only for the run that processed it.
            workspace_id = event.workspace.pk
            token, until = reply_window(event)
            transaction.on_commit(
                lambda: invite_to_link.enqueue(workspace_id, user_id, token, until)
            )
            note += "; account-link invitation requested"
        elif user_id and is_unlink_keyword(message.text):
            note += request_unlink_page(event, user_id)
        elif not must_stay_silent(event):
            announce(
                signals.message_received,
                event,
                prefetched.contact_id,
                **message_details(event, message),
            )
    elif not must_stay_silent(event):
        # Stickers, images, files and locations are announced too (the chat inbox shows them;
        # a keyword trigger sees an empty text).
        announce(
            signals.message_received,
            event,
            prefetched.contact_id,
            **message_details(event, message),
        )
    return Outcome(note=note, payload=payload)


def message_details(event: WebhookEvent, message: schema.MessageDetail) -> dict[str, Any]:
    """What `message_received` carries besides workspace, contact and time."""
    token, until = reply_window(event)
    raw = event.raw.get("message")
    return {
        "text": message.text or "",
        "message": raw if isinstance(raw, dict) else {},
        "message_id": message.id,
        "message_type": message.type,
        "reply_token": token,
        "reply_until": until,
        "webhook_event_id": event.webhook_event_id,
    }


def process_account_link(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    from otodoke.line.linking import link_from_event

    detail = schema.AccountLinkEvent.model_validate(event.raw).link
    return link_from_event(event, detail)


def ignore_unknown(event: WebhookEvent, prefetched: Prefetched) -> Outcome:
    return Outcome(WebhookStatus.IGNORED, f"{event.event_type} events are not used")


PROCESSORS: dict[str, Processor] = {
    "follow": process_follow,
    "unfollow": process_unfollow,
    "postback": process_postback,
    "message": process_message,
    "accountLink": process_account_link,
}


def drain_pending(workspace_id: int, *, budget_seconds: float = 60.0) -> dict[str, int]:
    """Process the workspace's pending events in batches (`otodoke.line.drain`)."""
    from otodoke.line.drain import drain_pending as drain

    return drain(workspace_id, budget_seconds=budget_seconds)


# --- operations ----------------------------------------------------------------------------


def retry_events(workspace: Workspace | None = None, *, include_pending: bool = True) -> int:
    """Re-enqueue failed (and, by default, still pending) events; returns how many."""
    from otodoke.line.tasks import process_webhook_events

    events = WebhookEvent.objects.all()
    if workspace is not None:
        events = events.filter(workspace=workspace)
    events = events.unfinished() if include_pending else events.failed()
    by_workspace: dict[int, list[str]] = {}
    for workspace_id, event_id in events.values_list("workspace_id", "webhook_event_id"):
        by_workspace.setdefault(workspace_id, []).append(event_id)
    for workspace_id, ids in by_workspace.items():
        # Chunks keep each task's argument list (stored as JSON) reasonably small.
        for start in range(0, len(ids), 500):
            process_webhook_events.enqueue(workspace_id, ids[start : start + 500])
    return sum(len(ids) for ids in by_workspace.values())
