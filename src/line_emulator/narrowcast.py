"""Narrowcast: `POST /v2/bot/message/narrowcast` and its progress endpoint.

The send is answered 202 at once and a job moves waiting → sending → succeeded/failed on the
emulator clock. The phase is brought up to date whenever anyone looks at it (progress, insight,
redelivery) and by a background task, so advancing the clock in a test is enough to finish a
job without sleeping; in a live demo the task finishes it after the configured delay.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import audiences, targeting
from line_emulator.delivery import deliver
from line_emulator.http import (
    MONTHLY_LIMIT_MESSAGE,
    LineError,
    accept_retry_key,
    authenticate,
    body_errors,
    check_rate_limit,
    check_retry_key,
    get_emulator,
    read_json_object,
    request_id,
    retry_key_of,
)
from line_emulator.state import Channel, Emulator, Friend
from line_emulator.targeting import Demographics, Problems
from line_emulator.validation import validate_messages

PROGRESS_TTL = timedelta(days=14)  # progress and redelivery both stop after 336 h
REACH_MINIMUM_FOR_FILTER = 100  # synchronous 403 below this target reach
RECIPIENT_MINIMUM = 50  # asynchronous errorCode 2 / 4 below this
REQUEST_ID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

FAILED_DESCRIPTIONS = {
    1: "internal error",
    2: "not enough recipients",
    3: "conflict",
    4: "audience too small",
    5: "partial delivery forbidden",
}


@dataclass
class NarrowcastSettings:
    """Emulator-clock seconds a job spends in each phase; tests may shorten them."""

    waiting_seconds: float = 0.3
    sending_seconds: float = 0.3


@dataclass
class Job:
    request_id: str
    channel_id: str
    accepted: datetime
    messages: list[dict[str, Any]]
    recipient: dict[str, Any] | None
    demographic: dict[str, Any] | None
    limit: dict[str, Any] | None
    notification_disabled: bool
    retry_key: str | None
    reserved: int
    reserved_month: str
    sending_at: datetime
    completes_at: datetime
    started: bool = False
    error_code: int | None = None
    target_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    completed: datetime | None = None
    recipients: frozenset[str] = field(default_factory=frozenset)

    def phase(self, now: datetime) -> str:
        if not self.started:
            return "waiting"
        if self.error_code is not None:
            return "failed"
        return "succeeded" if now >= self.completes_at else "sending"

    def progress(self, now: datetime) -> dict[str, Any]:
        phase = self.phase(now)
        body: dict[str, Any] = {"phase": phase, "acceptedTime": iso_ms(self.accepted)}
        if phase == "waiting":
            return body
        body.update(
            successCount=self.success_count,
            failureCount=self.failure_count,
            targetCount=self.target_count,
        )
        if phase == "failed":
            assert self.error_code is not None
            body["failedDescription"] = FAILED_DESCRIPTIONS[self.error_code]
            body["errorCode"] = self.error_code
        if phase in ("succeeded", "failed") and self.completed is not None:
            body["completedTime"] = iso_ms(self.completed)
        return body


def iso_ms(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2020-12-03T10:15:30.121Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def settings(emulator: Emulator) -> NarrowcastSettings:
    found = emulator.extensions.get("narrowcast_settings")
    if not isinstance(found, NarrowcastSettings):
        found = emulator.extensions["narrowcast_settings"] = NarrowcastSettings()
    return found


def jobs(channel: Channel) -> dict[str, Job]:
    found = channel.extensions.get("narrowcasts")
    if not isinstance(found, dict):
        found = channel.extensions["narrowcasts"] = {}
    return found


def demographics(friend: Friend, now: datetime) -> Demographics:
    return Demographics(
        gender=friend.gender,
        age=friend.age,
        app_type=friend.app_type,
        area=friend.area,
        followed_at=friend.followed_at or now,
    )


def _thai_minor(friend: Friend) -> bool:
    """LINE leaves users under 20 in Thailand out of every filtered narrowcast."""
    return bool(friend.area and friend.area.startswith("th_") and (friend.age or 0) < 20)


def following(channel: Channel) -> frozenset[str]:
    return frozenset(uid for uid, f in channel.friends.items() if f.status == "following")


def target_reach(channel: Channel) -> int:
    """The OA's target reach: every friend who still follows it."""
    return len(following(channel))


# ---------------------------------------------------------------- job lifecycle


def advance(emulator: Emulator, channel: Channel, job: Job) -> None:
    """Start the job once its waiting time is over on the emulator clock."""
    now = emulator.now()
    if job.started or now < job.sending_at:
        return
    job.started = True
    _release_reservation(channel, job)
    code, selected = _select(emulator, channel, job, now)
    job.target_count = len(selected)
    if code is not None:
        job.error_code = code
        # Timed from the schedule, not from when someone looked, so a clock jump is harmless.
        job.completed = job.sending_at
        return
    record = deliver(
        emulator,
        channel,
        endpoint="narrowcast",
        request_id=job.request_id,
        user_ids=sorted(selected),
        messages=job.messages,
        retry_key=job.retry_key,
        notification_disabled=job.notification_disabled,
        check_quota=False,
        at=job.sending_at,
    )
    job.recipients = frozenset(record.recipients)
    job.success_count = len(record.recipients)
    job.failure_count = len(selected) - len(record.recipients)
    job.completed = job.completes_at


def _select(
    emulator: Emulator, channel: Channel, job: Job, now: datetime
) -> tuple[int | None, frozenset[str]]:
    """Who the job sends to, or the errorCode that stops it."""
    universe = following(channel)
    minimum_applies = job.demographic is not None
    chosen = universe
    if job.recipient is not None:
        ids = targeting.referenced_audiences(job.recipient)
        members = {i: audiences.ready_members(channel, i, now) or frozenset() for i in ids}
        strict = [i for i in ids if not audiences.is_minimum_exempt(channel, i, now)]
        if strict:
            minimum_applies = True
        if len(set(ids)) > 1 and any(
            len(members[i] & universe) < RECIPIENT_MINIMUM for i in strict
        ):
            return 4, frozenset()
        redelivered = {
            rid: (jobs(channel)[rid].recipients if rid in jobs(channel) else frozenset())
            for rid in targeting.referenced_requests(job.recipient)
        }
        chosen = targeting.evaluate_recipient(job.recipient, universe, members, redelivered)
    if job.demographic is not None:
        demographic = job.demographic
        chosen = frozenset(
            uid
            for uid in chosen
            if targeting.matches_demographic(
                demographic, demographics(channel.friends[uid], now), now
            )
            and not _thai_minor(channel.friends[uid])
        )
    if minimum_applies and len(chosen) < RECIPIENT_MINIMUM:
        return 2, chosen
    cap = job.reserved
    if len(chosen) > cap:
        if job.limit and job.limit.get("forbidPartialDelivery"):
            return 5, chosen
        # LINE picks the capped recipients at random.
        chosen = frozenset(emulator.random.sample(sorted(chosen), cap))
    return None, chosen


def _release_reservation(channel: Channel, job: Job) -> None:
    used = channel.usage_by_month.get(job.reserved_month, 0)
    # `job.reserved` stays as the recipient cap; only the quota hold is given back.
    channel.usage_by_month[job.reserved_month] = max(0, used - job.reserved)


def advance_all(emulator: Emulator, channel: Channel) -> None:
    for job in list(jobs(channel).values()):
        advance(emulator, channel, job)


async def _run_in_background(emulator: Emulator, channel: Channel, job: Job) -> None:
    """Start the job in real time when nobody reads it (a read or a clock jump may do it first)."""
    delay = settings(emulator)
    await asyncio.sleep(delay.waiting_seconds)
    # Bounded, so a job whose channel was reset away never keeps a task alive.
    for _ in range(200):
        advance(emulator, channel, job)
        if job.started:
            return
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- lookups for other modules


def find_job(emulator: Emulator, channel: Channel, rid: str) -> Job | None:
    job = jobs(channel).get(rid)
    if job is not None:
        advance(emulator, channel, job)
    return job


# ---------------------------------------------------------------- HTTP


def _validate(body: dict[str, Any]) -> Problems:
    problems = Problems()
    for detail in validate_messages(body.get("messages")):
        problems.add(detail["message"], detail["property"])
    recipient = body.get("recipient")
    if recipient is not None:
        leaves = targeting.validate_recipient(recipient, "recipient", problems)
        if leaves > targeting.MAX_AUDIENCE_OBJECTS:
            problems.add("Size must be between 0 and 10", "recipient")
    filter_ = body.get("filter")
    if filter_ is not None:
        demographic = filter_.get("demographic") if isinstance(filter_, dict) else None
        if demographic is None:
            problems.add("May not be null", "filter.demographic")
        else:
            count = targeting.validate_demographic(demographic, "filter.demographic", problems)
            if count > targeting.MAX_DEMOGRAPHIC_OBJECTS:
                problems.add("Size must be between 0 and 10", "filter.demographic")
    return problems


async def send_narrowcast(request: Request) -> Response:
    channel = await authenticate(request)
    emulator = get_emulator(request)
    check_rate_limit(emulator, channel, "narrowcast")
    key = retry_key_of(request, supported=True)
    body = await read_json_object(request)
    # No await from here to accept_retry_key, so one key can never be accepted twice.
    check_retry_key(emulator, channel, key)
    problems = _validate(body)
    limit = body.get("limit")
    combination = targeting.validate_limit(limit, problems)
    if problems:
        raise body_errors([{"message": p.message, "property": p.property} for p in problems])
    if combination:
        raise LineError(400, combination)
    now = emulator.now()
    recipient = body.get("recipient")
    advance_all(emulator, channel)
    if recipient is not None:
        for group_id in targeting.referenced_audiences(recipient):
            if audiences.ready_members(channel, group_id, now) is None:
                raise LineError(400, f"Invalid audience group id: {group_id}")
        for rid in targeting.referenced_requests(recipient):
            source = jobs(channel).get(rid)
            if source is None or now - source.accepted >= PROGRESS_TTL:
                raise LineError(400, f"Invalid request id: {rid}")
            if source.phase(now) != "succeeded":
                raise LineError(400, f"Invalid request id: {rid}")
    demographic = body.get("filter", {}).get("demographic") if body.get("filter") else None
    reach = target_reach(channel)
    if demographic is not None and reach < REACH_MINIMUM_FOR_FILTER:
        raise LineError(403, "Your account does not have enough friends")
    remaining = None
    if channel.config.quota_type == "limited":
        remaining = max(0, channel.config.quota_value - emulator.quota_usage(channel))
    reserved = targeting.reservation(reach, limit, remaining)
    # The whole reservation must fit in the month's quota before LINE accepts the job.
    if not emulator.quota_allows(channel, reserved):
        raise LineError(429, MONTHLY_LIMIT_MESSAGE)
    rid = request_id(request)
    month = emulator.month_key()
    channel.usage_by_month[month] = channel.usage_by_month.get(month, 0) + reserved
    delay = settings(emulator)
    sending_at = now + timedelta(seconds=delay.waiting_seconds)
    job = Job(
        request_id=rid,
        channel_id=channel.channel_id,
        accepted=now,
        messages=body["messages"],
        recipient=recipient,
        demographic=demographic,
        limit=limit,
        notification_disabled=bool(body.get("notificationDisabled", False)),
        retry_key=key,
        reserved=reserved,
        reserved_month=month,
        sending_at=sending_at,
        completes_at=sending_at + timedelta(seconds=delay.sending_seconds),
    )
    jobs(channel)[rid] = job
    accept_retry_key(emulator, channel, key, rid)
    tasks: set[asyncio.Task[None]] = emulator.extensions.setdefault("narrowcast_tasks", set())
    task = asyncio.create_task(_run_in_background(emulator, channel, job))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return JSONResponse({}, status_code=202)


async def narrowcast_progress(request: Request) -> Response:
    channel = await authenticate(request)
    emulator = get_emulator(request)
    check_rate_limit(emulator, channel, "progress.narrowcast")  # 2,000/s, not 60/h
    retry_key_of(request, supported=False)
    rid = request.query_params.get("requestId", "")
    if not REQUEST_ID_RE.match(rid):
        raise LineError(400, "The value for the 'requestId' parameter is invalid")
    job = find_job(emulator, channel, rid)
    now = emulator.now()
    if job is None or now - job.accepted >= PROGRESS_TTL:
        raise LineError(404, "Not found")
    return JSONResponse(job.progress(now))


routes: list[BaseRoute] = [
    Route("/v2/bot/message/narrowcast", send_narrowcast, methods=["POST"]),
    Route("/v2/bot/message/progress/narrowcast", narrowcast_progress, methods=["GET"]),
]
