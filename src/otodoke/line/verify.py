"""Check linked LINE user IDs whose friend status is unknown against LINE (issue 12.5).

An imported link (customer number → LINE user ID) tells us who the customer is on LINE, not
whether they are a friend: the follow webhook came long before Otodoke was connected, so the
contact's status stays "unknown" and no segment counts it as reachable. LINE answers that
question two ways, both at LINE's rate limits (2,000 requests/s per channel each):

- the follower-ID list (`GET /v2/bot/followers/ids`, verified and premium accounts only): one
  request per 1,000 friends, so it is used when many IDs are unknown;
- the profile endpoint (`GET /v2/bot/profile/{userId}`): 200 for a friend, 404 for anyone
  else; one request per ID, paced by the same shared token bucket as profile retries.

(LINE also gives the profile of a non-friend who once messaged the account; the follower list
is the stricter answer, and a later block or follow webhook corrects either.) Neither says
*why* someone is not found: not a friend, blocked, or no profile consent look the
same, so those contacts stay "unknown" (and are never sent to). Found friends become
"following"; only contacts still unknown are changed, so a follow or block webhook processed
meanwhile always wins.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from otodoke.contacts.models import Contact, LineStatus
from otodoke.line.client import LineApiError, LineClient, with_backoff
from otodoke.line.models import LinkCheck, LinkCheckStatus
from otodoke.line.profiles import grab_profile_tokens
from otodoke.workspaces.models import Workspace

logger = logging.getLogger(__name__)

# Up to this many unknown IDs, profile calls (one each) are cheaper than walking the whole
# follower list (one call per 1,000 friends of the account).
PROFILE_METHOD_MAX = 5000
PROFILE_CHUNK = 200
PROFILE_CONCURRENCY = 8
# A check still queued or running after this long is taken for dead (its worker died).
STALE_AFTER = timedelta(hours=1)
METHODS = ("auto", "followers", "profile")


def unknown_links(workspace: Workspace) -> QuerySet[Contact]:
    """Contacts with a LINE user ID whose friend status nobody has told us."""
    return (
        Contact.objects.filter(workspace=workspace, line_status=LineStatus.NONE)
        .exclude(line_user_id__isnull=True)
        .exclude(line_user_id="")
    )


@dataclass
class VerifyReport:
    method: str = ""
    checked: int = 0
    following: int = 0
    not_found: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "checked": self.checked,
            "following": self.following,
            "not_found": self.not_found,
            "failed": self.failed,
        }


def _mark_following(workspace: Workspace, user_ids: list[str]) -> int:
    if not user_ids:
        return 0
    return (
        unknown_links(workspace)
        .filter(line_user_id__in=user_ids)
        .update(line_status=LineStatus.FOLLOWING, updated_at=timezone.now())
    )


def _by_followers(line: LineClient, workspace: Workspace, report: VerifyReport) -> None:
    for page in line.iter_follower_ids(retry=lambda call: with_backoff(call)):
        report.following += _mark_following(workspace, page)


def _by_profile(
    line: LineClient, workspace: Workspace, user_ids: list[str], report: VerifyReport
) -> None:
    def one(user_id: str) -> str:
        try:
            with_backoff(lambda: line.get_profile(user_id), attempts=4)
        except LineApiError as exc:
            if exc.permanent:
                return "not_found"
            if exc.status is None and report.following + report.not_found == 0:
                raise  # LINE cannot be reached at all: stop rather than try every ID
            logger.warning("Friend check of %s failed: %s", user_id, exc.describe())
            return "failed"
        return "following"

    # Each request starts as soon as its token is granted, never more in flight than the
    # pool has threads, so a burst of granted tokens is never held back and fired later.
    pending = list(reversed(user_ids))
    outcomes: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=PROFILE_CONCURRENCY) as pool:
        inflight: dict[Future[str], str] = {}
        while pending or inflight:
            free = PROFILE_CONCURRENCY - len(inflight)
            if pending and free > 0:
                granted, wait = grab_profile_tokens(workspace.channel_id, min(free, len(pending)))
                for _ in range(granted):
                    user_id = pending.pop()
                    inflight[pool.submit(one, user_id)] = user_id
                if not granted and not inflight:
                    time.sleep(min(max(wait, 0.001), 1.0))
                    continue
            done, _waiting = wait_futures(
                inflight, timeout=0.05 if pending else None, return_when=FIRST_COMPLETED
            )
            for future in done:
                outcomes[inflight.pop(future)] = future.result()
            if len(outcomes) >= PROFILE_CHUNK or not (pending or inflight):
                _record(workspace, outcomes, report)
                outcomes = {}


def _record(workspace: Workspace, outcomes: dict[str, str], report: VerifyReport) -> None:
    found = [uid for uid, outcome in outcomes.items() if outcome == "following"]
    report.following += _mark_following(workspace, found)
    report.not_found += sum(1 for o in outcomes.values() if o == "not_found")
    report.failed += sum(1 for o in outcomes.values() if o == "failed")


def verify_links(workspace: Workspace, *, method: str = "auto") -> VerifyReport:
    """Ask LINE about every unknown linked ID of the workspace; see the module docstring.

    Raises LineApiError when LINE cannot be asked at all (unreachable, token refused, the
    follower list refused when it was asked for explicitly)."""
    if method not in METHODS:
        raise ValueError(method)
    user_ids = list(unknown_links(workspace).values_list("line_user_id", flat=True))
    ids = [uid for uid in user_ids if uid]
    report = VerifyReport(checked=len(ids))
    if not ids:
        report.method = "profile" if method == "auto" else method
        return report
    with LineClient.for_workspace(workspace) as line:
        chosen = method
        if method == "auto":
            chosen = "followers" if len(ids) > PROFILE_METHOD_MAX else "profile"
        if chosen == "followers":
            try:
                _by_followers(line, workspace, report)
                report.method = "followers"
                report.not_found = report.checked - report.following
                return report
            except LineApiError as exc:
                # 403: this account may not use the follower list (unverified accounts).
                if method != "auto" or exc.status != 403:
                    raise
                logger.info("Follower IDs not available (%s); asking per profile", exc.message)
                report.following = 0
        report.method = "profile"
        _by_profile(line, workspace, ids, report)
    return report


# --- checks: queued from the UI, the CLI or after an import, run by a task -------------------


def request_check(workspace: Workspace, *, requested_by: str) -> LinkCheck:
    """Queue a check; while one is queued or running for the workspace, that one is returned
    (so an import and a button press do not ask LINE twice)."""
    from otodoke.line.tasks import verify_links as verify_task

    with transaction.atomic():
        unfinished = (
            LinkCheck.objects.select_for_update()
            .filter(
                workspace=workspace,
                status__in=[LinkCheckStatus.QUEUED, LinkCheckStatus.RUNNING],
                created_at__gte=timezone.now() - STALE_AFTER,
            )
            .first()
        )
        if unfinished is not None:
            return unfinished
        check = LinkCheck.objects.create(workspace=workspace, requested_by=requested_by[:150])
        check_id = check.pk
        transaction.on_commit(lambda: verify_task.enqueue(check_id))
    return check


def run_check(check_id: int, *, method: str = "auto") -> LinkCheck:
    """Run a queued check (safe to run twice: only one run claims it)."""
    claimed = LinkCheck.objects.filter(pk=check_id, status=LinkCheckStatus.QUEUED).update(
        status=LinkCheckStatus.RUNNING
    )
    check = LinkCheck.objects.select_related("workspace").get(pk=check_id)
    if not claimed:
        return check
    try:
        report = verify_links(check.workspace, method=method)
    except LineApiError as exc:
        check.status = LinkCheckStatus.FAILED
        check.error = exc.describe()[:2000]
    else:
        check.status = LinkCheckStatus.DONE
        check.method = report.method
        check.checked = report.checked
        check.following = report.following
        check.not_found = report.not_found
        check.failed = report.failed
    check.finished_at = timezone.now()
    check.save()
    return check


def on_line_ids_imported(sender: object, workspace: Workspace, **kwargs: object) -> None:
    """After an import that linked LINE user IDs: check the unknown ones in the background."""
    if unknown_links(workspace).exists():
        request_check(workspace, requested_by="import")


def latest_check(workspace: Workspace) -> LinkCheck | None:
    return LinkCheck.objects.filter(workspace=workspace).first()
