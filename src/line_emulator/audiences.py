"""Audience groups: upload (JSON and file), add, click and impression retargeting, lifecycle.

State lives per channel in `channel.extensions["audiences"]`. Status is derived from the
emulator clock on every read (IN_PROGRESS until a job finishes, EXPIRED after 180 days), so
tests move an audience through its life by advancing the clock instead of sleeping.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from line_emulator.state import Channel

AudienceType = Literal["UPLOAD", "CLICK", "IMP"]

LIFETIME = timedelta(seconds=15_552_000)  # 180 days: expireTimestamp = created + this
PURGE_AFTER_EXPIRY = timedelta(days=30)  # LINE deletes EXPIRED audiences about a month later
RETARGET_MAX_AGE = timedelta(seconds=5_184_000)  # click/imp source message: 60 days
MAX_PER_CHANNEL = 1000
MAX_JSON_IDS = 10_000
MAX_FILE_IDS = 1_500_000
MAX_DESCRIPTION = 120
MAX_UPLOAD_DESCRIPTION = 300
MAX_CONCURRENT_JOBS = 10
RETARGET_MINIMUM = 50
# LINE hides small counts of click/imp audiences (reported as 0 below 20).
COUNT_PRIVACY_FLOOR = 20
USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
IFA_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# Audience group IDs are int64 and unique across channels, like LINE's.
_ids = itertools.count(1_000_000_000_001)


class AudienceError(Exception):
    """A LINE audience error: HTTP status, top-level message and the code in details[]."""

    def __init__(self, status: int, message: str, code: str, prop: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.prop = prop

    def body(self) -> dict[str, Any]:
        if not self.code:
            return {"message": self.message}
        detail: dict[str, str] = {"message": self.code}
        if self.prop:
            detail["property"] = self.prop
        return {"message": self.message, "details": [detail]}


def _bad(code: str, message: str | None = None, prop: str = "") -> AudienceError:
    return AudienceError(400, message or code, code, prop)


NOT_FOUND_MESSAGE = "audience group not found"


@dataclass
class Job:
    job_id: int
    group_id: int
    description: str
    user_ids: frozenset[str]
    created: datetime
    finishes: datetime

    def status(self, now: datetime) -> str:
        return "FINISHED" if now >= self.finishes else "WORKING"


@dataclass
class AudienceGroup:
    group_id: int
    channel_id: str
    type: AudienceType
    description: str
    created: datetime
    is_ifa: bool = False
    jobs: list[Job] = field(default_factory=list)
    # Click/imp audiences: members are fixed at creation; ready or failed after `settles`.
    fixed_members: frozenset[str] = frozenset()
    settles: datetime | None = None
    request_id: str | None = None
    click_url: str | None = None

    @property
    def expires(self) -> datetime:
        return self.created + LIFETIME

    def members(self, now: datetime) -> frozenset[str]:
        if self.type != "UPLOAD":
            return self.fixed_members
        finished = [job.user_ids for job in self.jobs if job.status(now) == "FINISHED"]
        return frozenset().union(*finished)

    def status(self, now: datetime) -> str:
        if now >= self.expires:
            return "EXPIRED"
        if self.type == "UPLOAD":
            # An empty upload audience never becomes READY; one with IDs is READY as soon as
            # its first job finishes and stays READY while later jobs run.
            return "READY" if self.members(now) else "IN_PROGRESS"
        if self.settles is None or now < self.settles:
            return "IN_PROGRESS"
        return "READY" if len(self.fixed_members) >= RETARGET_MINIMUM else "FAILED"

    def failed_type(self, now: datetime) -> str | None:
        if self.status(now) == "FAILED":
            return "AUDIENCE_GROUP_AUDIENCE_INSUFFICIENT"
        return None

    def audience_count(self, now: datetime) -> int:
        count = len(self.members(now))
        if self.type != "UPLOAD" and count < COUNT_PRIVACY_FLOOR:
            return 0
        return count

    def to_json(self, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {
            "audienceGroupId": self.group_id,
            "type": self.type,
            "description": self.description,
            "status": self.status(now),
            "failedType": self.failed_type(now),
            "audienceCount": self.audience_count(now),
            "created": int(self.created.timestamp()),
            "permission": "READ_WRITE",
            "createRoute": "MESSAGING_API",
            "isIfaAudience": self.is_ifa,
            "expireTimestamp": int(self.expires.timestamp()),
        }
        if self.request_id is not None:
            body["requestId"] = self.request_id
        if self.click_url:
            body["clickUrl"] = self.click_url
        return body

    def jobs_json(self, now: datetime) -> list[dict[str, Any]]:
        return [
            {
                "audienceGroupJobId": job.job_id,
                "audienceGroupId": self.group_id,
                "description": job.description,
                "type": "DIFF_ADD",
                "jobStatus": job.status(now),
                "failedType": None,
                "audienceCount": len(job.user_ids),
                "created": int(job.created.timestamp()),
            }
            for job in reversed(self.jobs[-50:])
        ]


@dataclass
class AudienceStore:
    groups: dict[int, AudienceGroup] = field(default_factory=dict)
    # How long a create/add job or a click/imp computation takes, in emulator seconds.
    processing_seconds: float = 0.2


def store(channel: Channel) -> AudienceStore:
    found = channel.extensions.get("audiences")
    if not isinstance(found, AudienceStore):
        found = channel.extensions["audiences"] = AudienceStore()
    return found


def live_groups(channel: Channel, now: datetime) -> dict[int, AudienceGroup]:
    """The channel's audiences, after dropping those expired for over a month."""
    groups = store(channel).groups
    for group_id in [g.group_id for g in groups.values() if now >= g.expires + PURGE_AFTER_EXPIRY]:
        del groups[group_id]
    return groups


def find_group(channel: Channel, group_id: Any, now: datetime) -> AudienceGroup:
    group = live_groups(channel, now).get(group_id) if isinstance(group_id, int) else None
    if group is None:
        raise _bad("AUDIENCE_GROUP_NOT_FOUND", NOT_FOUND_MESSAGE)
    return group


def ready_members(channel: Channel, group_id: int, now: datetime) -> frozenset[str] | None:
    """Members of a READY audience of this channel, or None (narrowcast then answers 400)."""
    group = live_groups(channel, now).get(group_id)
    if group is None or group.status(now) != "READY":
        return None
    return group.members(now)


def is_minimum_exempt(channel: Channel, group_id: int, now: datetime) -> bool:
    """The 50-recipient minimum does not apply to an OA's own user-ID upload audiences."""
    group = live_groups(channel, now).get(group_id)
    return group is not None and group.type == "UPLOAD"


# ---------------------------------------------------------------- validation


def check_description(value: Any, prop: str = "description") -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad("AUDIENCE_GROUP_NAME_EMPTY", prop=prop)
    if len(value) > MAX_DESCRIPTION:
        raise _bad("AUDIENCE_GROUP_NAME_SIZE_OVER", "size over audienceGroupName", prop)
    if _CONTROL_RE.search(value):
        raise _bad("AUDIENCE_GROUP_NAME_WRONG", prop=prop)
    return value


def check_upload_description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_UPLOAD_DESCRIPTION:
        raise _bad("AUDIENCE_GROUP_UPLOAD_DESCRIPTION_SIZE_OVER", prop="uploadDescription")
    return value


def check_ids(ids: list[str], is_ifa: bool, maximum: int) -> frozenset[str]:
    """Validate uploaded IDs; one bad ID fails the whole call, as on LINE."""
    if len(ids) > maximum:
        raise _bad("UPLOAD_AUDIENCE_GROUP_TOO_MANY_AUDIENCE_IDS", prop="audiences")
    pattern = IFA_RE if is_ifa else USER_ID_RE
    if any(not pattern.match(i) for i in ids):
        raise _bad(
            "UPLOAD_AUDIENCE_GROUP_INVALID_AUDIENCE_ID_FORMAT",
            "Invalid audience id format",
            "audiences",
        )
    return frozenset(ids)


def json_ids(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or any(not isinstance(a, dict) for a in raw):
        raise _bad(
            "UPLOAD_AUDIENCE_GROUP_INVALID_AUDIENCE_ID_FORMAT",
            "Invalid audience id format",
            "audiences",
        )
    return [str(a.get("id", "")) for a in raw]


def file_ids(data: bytes) -> list[str]:
    """One ID per line; blank lines (e.g. a trailing newline) are not IDs."""
    text = data.decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- actions


def _new_group(
    channel: Channel, kind: AudienceType, description: str, now: datetime
) -> AudienceGroup:
    groups = live_groups(channel, now)
    if len(groups) >= MAX_PER_CHANNEL:
        raise _bad("AUDIENCE_GROUP_COUNT_MAX_OVER")
    group = AudienceGroup(next(_ids), channel.channel_id, kind, description, now)
    groups[group.group_id] = group
    return group


def _add_job(
    channel: Channel, group: AudienceGroup, ids: frozenset[str], note: str, now: datetime
) -> None:
    running = [job for job in group.jobs if job.status(now) != "FINISHED"]
    if len(running) >= MAX_CONCURRENT_JOBS:
        # LINE documents the 429 but no code for it, so the body carries only a message.
        raise AudienceError(429, "Too many concurrent operations on this audience", "")
    if not ids:
        return
    finishes = now + timedelta(seconds=store(channel).processing_seconds)
    group.jobs.append(Job(next(_ids), group.group_id, note, ids, now, finishes))


def create_upload(
    channel: Channel,
    description: Any,
    is_ifa: Any,
    upload_description: Any,
    ids: list[str],
    maximum: int,
    now: datetime,
) -> AudienceGroup:
    name = check_description(description)
    note = check_upload_description(upload_description)
    ifa = bool(is_ifa)
    members = check_ids(ids, ifa, maximum)
    group = _new_group(channel, "UPLOAD", name, now)
    group.is_ifa = ifa
    _add_job(channel, group, members, note, now)
    return group


def add_ids(
    channel: Channel,
    group_id: Any,
    upload_description: Any,
    ids: list[str],
    maximum: int,
    now: datetime,
) -> None:
    group = find_group(channel, group_id, now)
    if group.status(now) == "EXPIRED":
        raise _bad("AUDIENCE_GROUP_CAN_NOT_UPLOAD_STATUS_EXPIRED")
    if group.type != "UPLOAD":
        raise _bad("AUDIENCE_GROUP_NOT_FOUND", NOT_FOUND_MESSAGE, "audienceGroupId")
    note = check_upload_description(upload_description)
    members = check_ids(ids, group.is_ifa, maximum)
    if not members:
        raise _bad("UPLOAD_AUDIENCE_GROUP_NO_VALID_AUDIENCE_IDS", prop="audiences")
    _add_job(channel, group, members, note, now)


def create_retargeting(
    channel: Channel,
    kind: Literal["CLICK", "IMP"],
    description: Any,
    request_id: Any,
    click_url: Any,
    sent_at: datetime | None,
    members: frozenset[str],
    now: datetime,
) -> AudienceGroup:
    """A click or impression audience from a broadcast/narrowcast request's recorded users.

    `sent_at` is None when the request ID is unknown or not a broadcast/narrowcast.
    """
    name = check_description(description)
    if not isinstance(request_id, str) or sent_at is None:
        raise _bad("REQUEST_NOT_FOUND", prop="requestId")
    if now - sent_at > RETARGET_MAX_AGE:
        raise _bad("TOO_OLD_MESSAGES", prop="requestId")
    url = click_url if isinstance(click_url, str) and click_url else None
    for other in live_groups(channel, now).values():
        if (other.type, other.request_id, other.click_url) == (kind, request_id, url):
            raise _bad("AUDIENCE_GROUP_REQUESTID_DUPLICATE", prop="requestId")
    group = _new_group(channel, kind, name, now)
    group.request_id = request_id
    group.click_url = url
    group.fixed_members = members
    group.settles = now + timedelta(seconds=store(channel).processing_seconds)
    return group


def rename(channel: Channel, group_id: int, description: Any, now: datetime) -> None:
    group = find_group(channel, group_id, now)
    group.description = check_description(description)


def delete(channel: Channel, group_id: int, now: datetime) -> None:
    find_group(channel, group_id, now)
    del store(channel).groups[group_id]


def list_page(
    channel: Channel,
    page: int,
    size: int,
    description: str | None,
    status: str | None,
    create_route: str | None,
    now: datetime,
) -> dict[str, Any]:
    groups = sorted(live_groups(channel, now).values(), key=lambda g: g.group_id, reverse=True)
    if description:
        # LINE treats names case-insensitively.
        groups = [g for g in groups if description.lower() in g.description.lower()]
    if status:
        groups = [g for g in groups if g.status(now) == status]
    if create_route and create_route != "MESSAGING_API":
        groups = []
    start = (page - 1) * size
    return {
        "audienceGroups": [g.to_json(now) for g in groups[start : start + size]],
        "hasNextPage": start + size < len(groups),
        "totalCount": len(groups),
        "readWriteAudienceGroupTotalCount": len(groups),
        "page": page,
        "size": size,
    }
