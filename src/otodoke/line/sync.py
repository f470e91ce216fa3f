"""Friends sync: pull every follower ID from LINE, create the contacts we lack, refresh profiles.

For an account that had friends before it connected to Otodoke (follow webhooks only cover
what happens afterwards). Idempotent: a second run creates nothing and rewrites only profiles
that changed. Profile calls run with bounded concurrency and back off on 429.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from otodoke.contacts.models import LINE_USER_ID_RE, Contact, LineStatus
from otodoke.line.client import LineApiError, LineClient, LineProfile, with_backoff
from otodoke.line.profiles import forget as forget_missing_profiles
from otodoke.workspaces.models import Workspace

logger = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
PROFILE_FIELDS = ("line_display_name", "line_picture_url", "line_language")


@dataclass
class SyncReport:
    pages: int = 0
    followers: int = 0
    created: int = 0
    refollowed: int = 0
    profiles_fetched: int = 0
    profiles_missing: int = 0
    profiles_updated: int = 0
    # Follower IDs LINE sent that are not LINE user IDs (U + 32 lowercase hex): skipped.
    invalid_ids: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _log_wait(exc: LineApiError, delay: float) -> None:
    logger.info("LINE said %s; waiting %.1f s", exc.describe(), delay)


def fetch_profiles(
    client: LineClient, user_ids: list[str], *, concurrency: int
) -> dict[str, LineProfile | None]:
    """Profiles by user ID; None where LINE has none to give (404: blocked, no consent)."""

    def one(user_id: str) -> LineProfile | None:
        try:
            return with_backoff(lambda: client.get_profile(user_id), on_wait=_log_wait)
        except LineApiError as exc:
            if exc.permanent:
                return None
            raise

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(user_ids, pool.map(one, user_ids), strict=True))


def valid_user_ids(user_ids: list[str]) -> tuple[list[str], int]:
    """The IDs that are LINE user IDs, deduplicated, and how many were not. The bulk insert
    below skips model validation, so an empty or malformed ID would otherwise become a
    "following" contact and end up in a multicast's `to`."""
    valid = list(dict.fromkeys(u for u in user_ids if LINE_USER_ID_RE.fullmatch(u)))
    invalid = sum(1 for u in user_ids if not LINE_USER_ID_RE.fullmatch(u))
    if invalid:
        logger.warning("LINE listed %s follower IDs that are not LINE user IDs; skipped", invalid)
    return valid, invalid


def record_followers(workspace: Workspace, user_ids: list[str]) -> tuple[int, int]:
    """Make every ID a following contact; returns (created, re-followed). IDs that are not
    LINE user IDs are left out (see `valid_user_ids`).

    Inserts go through the unique constraint (`ignore_conflicts`), so a follow webhook handled
    at the same moment cannot produce a second contact.
    """
    user_ids, _invalid = valid_user_ids(user_ids)
    now = timezone.now()
    with transaction.atomic():
        before = Contact.objects.filter(workspace=workspace, line_user_id__in=user_ids).count()
        Contact.objects.bulk_create(
            [
                Contact(workspace=workspace, line_user_id=uid, line_status=LineStatus.FOLLOWING)
                for uid in user_ids
            ],
            ignore_conflicts=True,
        )
        after = Contact.objects.filter(workspace=workspace, line_user_id__in=user_ids).count()
        mine = Contact.objects.filter(workspace=workspace, line_user_id__in=user_ids)
        # Conditional updates, no read-then-write: LINE lists them as followers now. A blocked
        # contact must have unblocked unnoticed; `now` becomes its latest follow so an older
        # unfollow event arriving late cannot win (see services.friend_status).
        refollowed = mine.filter(line_status=LineStatus.BLOCKED).update(
            line_status=LineStatus.FOLLOWING, line_followed_at=now, updated_at=now
        )
        mine.filter(line_status=LineStatus.NONE).update(
            line_status=LineStatus.FOLLOWING, updated_at=now
        )
    return after - before, refollowed


def store_profiles(workspace: Workspace, profiles: dict[str, LineProfile | None]) -> int:
    found = {uid: p for uid, p in profiles.items() if p is not None}
    changed: list[Contact] = []
    for contact in Contact.objects.filter(workspace=workspace, line_user_id__in=list(found)):
        profile = found[contact.line_user_id or ""]
        values = (
            profile.display_name[:200],
            (profile.picture_url or "")[:500],
            (profile.language or "")[:20],
        )
        if tuple(getattr(contact, f) for f in PROFILE_FIELDS) != values:
            for name, value in zip(PROFILE_FIELDS, values, strict=True):
                setattr(contact, name, value)
            changed.append(contact)
    # Only profile columns are written, so a concurrent follow/unfollow is not overwritten.
    Contact.objects.bulk_update(changed, list(PROFILE_FIELDS), batch_size=500)
    forget_missing_profiles(workspace, list(found))  # a follow's failed fetch need not be retried
    return len(changed)


def sync_friends(
    workspace: Workspace,
    *,
    client: LineClient | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    page_limit: int = 1000,
    fetch_profile: bool = True,
    progress: Callable[[SyncReport], None] | None = None,
) -> SyncReport:
    report = SyncReport()
    own = client is None
    line = client if client is not None else LineClient.for_workspace(workspace)
    try:
        pages = line.iter_follower_ids(
            limit=page_limit, retry=lambda call: with_backoff(call, on_wait=_log_wait)
        )
        for listed in pages:
            report.pages += 1
            user_ids, invalid = valid_user_ids(listed)
            report.invalid_ids += invalid
            report.followers += len(user_ids)
            created, refollowed = record_followers(workspace, user_ids)
            report.created += created
            report.refollowed += refollowed
            if fetch_profile and user_ids:
                profiles = fetch_profiles(line, user_ids, concurrency=concurrency)
                report.profiles_fetched += sum(1 for p in profiles.values() if p is not None)
                report.profiles_missing += sum(1 for p in profiles.values() if p is None)
                report.profiles_updated += store_profiles(workspace, profiles)
            if progress is not None:
                progress(report)
    finally:
        if own:
            line.close()
    return report
