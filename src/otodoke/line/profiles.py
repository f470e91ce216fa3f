"""Profiles that could not be fetched when a friend followed, fetched again later.

A follow is applied at once even when LINE's profile call times out (the friend status
matters more than the name); the friend is then recorded as a `MissingProfile` and a task
fetches the profile again with exponential backoff (1 min, 2, 4 … capped at 6 h, 10 attempts),
within LINE's profile rate limit (2,000 requests/s per channel, shared by every worker through
the same token bucket as sends).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from otodoke.contacts.models import Contact
from otodoke.line.client import LineApiError, LineClient, LineProfile, LineRateLimitError
from otodoke.line.models import MissingProfile, WebhookEvent
from otodoke.workspaces.models import Workspace

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
RETRY_CAP = timedelta(hours=6)
PROFILE_ENDPOINT = "profile"


@dataclass(frozen=True)
class Prefetched:
    """What a processor needs from the network, fetched before the transaction opens."""

    profile: LineProfile | None = None
    # Why the profile could not be fetched when LINE may give it later (timeout, 5xx, 429);
    # "" when it was fetched or LINE has none to give (404).
    profile_error: str = ""
    # The friend's contact when a batch drain looked it up beforehand (None: look it up).
    contact_id: int | None = None


def prefetch(event: WebhookEvent) -> Prefetched:
    if event.event_type != "follow" or not event.source_user_id:
        return Prefetched()
    return fetch_profile_quietly(event.workspace, event.source_user_id)


def fetch_profile_quietly(workspace: Workspace, user_id: str) -> Prefetched:
    """The profile, or none when LINE cannot give it: the friend status matters more than the
    name, so a failed fetch must not fail the event. A transient failure (timeout, 5xx, 429)
    is named in `profile_error`, and the follow records it for a later retry (profiles.py)."""
    try:
        with LineClient.for_workspace(workspace) as client:
            return Prefetched(profile=client.get_profile(user_id))
    except LineApiError as exc:
        logger.warning("Profile of %s not fetched: %s", user_id, exc.describe())
        return Prefetched(profile_error="" if exc.permanent else exc.describe())


def retry_delay(attempts: int) -> timedelta:
    """How long after the `attempts`-th failed fetch the next one is due."""
    base = float(getattr(settings, "LINE_PROFILE_RETRY_SECONDS", 60.0))
    delay = timedelta(seconds=base * (2 ** max(0, attempts - 1)))
    return min(RETRY_CAP, delay)


def note_missing(workspace: Workspace, user_id: str, error: str) -> datetime | None:
    """Record one more failed fetch of this friend's profile; returns when the next is due
    (None once attempts are used up). Call inside the transaction that applied the follow."""
    row, _created = MissingProfile.objects.select_for_update().get_or_create(
        workspace=workspace, line_user_id=user_id
    )
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = (
        timezone.now() + retry_delay(row.attempts) if row.attempts < MAX_ATTEMPTS else None
    )
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    return row.next_attempt_at


def schedule_retry(workspace_id: int, at: datetime) -> None:
    """Enqueue a retry run for when the earliest missing profile is due (after this commit)."""
    from otodoke.line.tasks import retry_missing_profiles

    transaction.on_commit(lambda: retry_missing_profiles.using(run_after=at).enqueue(workspace_id))


def forget(workspace: Workspace, user_ids: list[str]) -> None:
    """These profiles are known now (a friends sync fetched them): stop retrying them."""
    MissingProfile.objects.filter(workspace=workspace, line_user_id__in=user_ids).delete()


def store_profile(workspace: Workspace, profile: LineProfile) -> int:
    """Write the profile columns only, so a concurrent follow/unfollow is not overwritten."""
    return Contact.objects.filter(workspace=workspace, line_user_id=profile.user_id).update(
        line_display_name=profile.display_name[:200],
        line_picture_url=(profile.picture_url or "")[:500],
        line_language=(profile.language or "")[:20],
        updated_at=timezone.now(),
    )


def grab_profile_tokens(channel_id: str, wanted: int) -> tuple[int, float]:
    """Take up to `wanted` requests of LINE's per-channel profile budget, now; returns (how
    many, seconds until the next when none). The bucket is shared by every worker (the send
    engine's token bucket), so all of them together stay within LINE's limit."""
    from otodoke.campaigns import ratelimit
    from otodoke.campaigns.conf import engine_conf

    conf = engine_conf()
    rate = conf.rates.get(PROFILE_ENDPOINT, conf.rates["other"]) * conf.rate_share
    return ratelimit.take_tokens(
        ratelimit.bucket_key(channel_id, PROFILE_ENDPOINT),
        rate=rate,
        capacity=max(1.0, rate / 4),
        wanted=wanted,
    )


def take_profile_tokens(channel_id: str, count: int = 1) -> None:
    """Wait until `count` requests of the profile budget are ours (use each at once)."""
    needed = count
    while needed > 0:
        granted, wait = grab_profile_tokens(channel_id, needed)
        needed -= granted
        if needed > 0 and not granted:
            time.sleep(min(max(wait, 0.001), 1.0))


@dataclass
class RetryReport:
    fetched: int = 0
    not_friends: int = 0
    failed: int = 0
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "fetched": self.fetched,
            "not_friends": self.not_friends,
            "failed": self.failed,
            "gave_up": self.gave_up,
        }


def _fail(row: MissingProfile, error: str, report: RetryReport) -> None:
    row.attempts += 1
    row.last_error = error[:2000]
    row.next_attempt_at = (
        timezone.now() + retry_delay(row.attempts) if row.attempts < MAX_ATTEMPTS else None
    )
    row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    if row.next_attempt_at is None:
        report.gave_up += 1
        logger.warning("Gave up fetching the profile of %s: %s", row.line_user_id, error)
    else:
        report.failed += 1


def retry_due(workspace_id: int, *, budget_seconds: float = 20.0) -> RetryReport:
    """Fetch the workspace's due missing profiles for up to `budget_seconds`, then make sure
    a later run is queued for what is left (only a run that found work reschedules, so the
    many tasks a burst of failed follows enqueued collapse into one)."""
    report = RetryReport()
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return report
    deadline = time.monotonic() + budget_seconds
    due = list(
        MissingProfile.objects.filter(
            workspace=workspace, next_attempt_at__lte=timezone.now()
        ).order_by("next_attempt_at", "pk")[:1000]
    )
    if not due:
        return report
    try:
        with LineClient.for_workspace(workspace) as client:
            for row in due:
                if time.monotonic() > deadline:
                    break
                take_profile_tokens(workspace.channel_id)
                try:
                    profile = client.get_profile(row.line_user_id)
                except LineRateLimitError as exc:
                    _fail(row, exc.describe(), report)
                    break  # LINE says slow down: the rest waits for the next run
                except LineApiError as exc:
                    if exc.permanent:
                        # 404: no longer a friend (blocked) or no profile consent; nothing to
                        # fetch until they follow again (a new follow records a new attempt).
                        row.delete()
                        report.not_friends += 1
                    else:
                        _fail(row, exc.describe(), report)
                    continue
                store_profile(workspace, profile)
                row.delete()
                report.fetched += 1
    finally:
        earliest = MissingProfile.objects.filter(
            workspace=workspace, next_attempt_at__isnull=False
        ).aggregate(at=Min("next_attempt_at"))["at"]
        if earliest is not None:
            with transaction.atomic():
                schedule_retry(workspace.pk, max(earliest, timezone.now()))
    return report
