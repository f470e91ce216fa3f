"""A follow whose profile fetch failed is retried later (issue 12.28): with backoff, until
fetched or LINE says there is none, within LINE's profile rate limit."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line import profiles
from otodoke.line.models import MissingProfile, WebhookEvent, WebhookStatus
from otodoke.line.tests.conftest import run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

USER = "U" + "d" * 32


@pytest.fixture(autouse=True)
def quick_retries(settings: Settings) -> None:
    settings.LINE_PROFILE_RETRY_SECONDS = 1


def script(emulator: EmulatorServer, *faults: str) -> None:
    httpx.put(f"{emulator.url}/_emulator/faults", json={"timeout_seconds": 1}).raise_for_status()
    httpx.post(
        f"{emulator.url}/_emulator/faults/script", json={"faults": list(faults)}
    ).raise_for_status()


def profile_answers(emulator: EmulatorServer, user_id: str = USER) -> list[str]:
    log: list[dict[str, Any]] = httpx.get(
        f"{emulator.url}/_emulator/responses", params={"path": f"/v2/bot/profile/{user_id}"}
    ).json()["requests"]
    return [str(r["status"]) for r in log]


def wait_until_due(user_id: str = USER) -> None:
    row = MissingProfile.objects.get(line_user_id=user_id)
    assert row.next_attempt_at is not None
    time.sleep(max(0.0, (row.next_attempt_at - timezone.now()).total_seconds()) + 0.1)


def test_a_follow_whose_profile_fetch_timed_out_gets_its_profile_later(
    emulator: EmulatorServer, wired: httpx.Client
) -> None:
    script(emulator, "timeout-before")
    wired.post(f"/friends/{USER}/follow", json={"display_name": "佐藤 一郎"})
    run_tasks()

    event = WebhookEvent.objects.get()
    assert event.status == WebhookStatus.PROCESSED
    assert "retried later" in event.outcome
    contact = Contact.objects.get(line_user_id=USER)
    assert contact.line_status == LineStatus.FOLLOWING
    assert contact.line_display_name == ""
    missing = MissingProfile.objects.get(line_user_id=USER)
    assert missing.attempts == 1 and missing.last_error
    assert missing.next_attempt_at is not None
    assert missing.next_attempt_at > timezone.now()  # not at once: backoff
    assert profile_answers(emulator) == ["timeout"]

    wait_until_due()
    run_tasks()

    contact.refresh_from_db()
    assert contact.line_display_name == "佐藤 一郎"
    assert contact.line_status == LineStatus.FOLLOWING
    assert not MissingProfile.objects.exists()
    assert profile_answers(emulator) == ["timeout", "200"]
    time.sleep(1.2)
    run_tasks()
    assert profile_answers(emulator) == ["timeout", "200"]  # fetched once, never again


def test_retries_back_off_exponentially_until_the_profile_comes(
    emulator: EmulatorServer, wired: httpx.Client
) -> None:
    script(emulator, "500", "500")
    wired.post(f"/friends/{USER}/follow", json={"display_name": "鈴木"})
    run_tasks()
    first = MissingProfile.objects.get()
    assert first.attempts == 1 and first.next_attempt_at is not None

    wait_until_due()
    run_tasks()
    second = MissingProfile.objects.get()
    assert second.attempts == 2 and second.next_attempt_at is not None
    gap = second.next_attempt_at - timezone.now()
    assert timedelta(seconds=1.3) < gap <= timedelta(seconds=2)  # 1 s, then 2 s
    assert profile_answers(emulator) == ["500", "500"]

    run_tasks()  # not due yet: nothing is fetched early
    assert profile_answers(emulator) == ["500", "500"]
    wait_until_due()
    run_tasks()
    assert Contact.objects.get(line_user_id=USER).line_display_name == "鈴木"
    assert profile_answers(emulator) == ["500", "500", "200"]


def test_a_friend_who_blocked_before_the_retry_is_not_fetched_again(
    emulator: EmulatorServer, wired: httpx.Client
) -> None:
    script(emulator, "500")
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    wired.post(f"/friends/{USER}/block")
    wait_until_due()
    run_tasks()

    assert Contact.objects.get(line_user_id=USER).line_status == LineStatus.BLOCKED
    assert not MissingProfile.objects.exists()  # LINE's 404: nothing to fetch any more
    assert profile_answers(emulator) == ["500", "404"]
    time.sleep(2.2)
    run_tasks()
    assert profile_answers(emulator) == ["500", "404"]


def test_automatic_attempts_stop_after_the_last_one(
    emulator: EmulatorServer, wired: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(profiles, "MAX_ATTEMPTS", 2)
    script(emulator, "500", "500")
    wired.post(f"/friends/{USER}/follow")
    run_tasks()
    wait_until_due()
    run_tasks()

    row = MissingProfile.objects.get()
    assert row.attempts == 2 and row.next_attempt_at is None  # kept, with its error
    assert "500" in row.last_error
    assert profile_answers(emulator) == ["500", "500"]


def test_retries_stay_within_the_profile_rate_limit(
    emulator: EmulatorServer, workspace: Workspace, settings: Settings
) -> None:
    settings.OTODOKE_LINE_RATES = {"profile": 5}
    settings.OTODOKE_RATE_SHARE = 1.0
    httpx.put(
        f"{emulator.url}/_emulator/rate-limits",
        json={"enabled": True, "overrides": {"profile": "5/s"}},
    ).raise_for_status()
    users = [f"U{i:032x}" for i in range(1, 11)]
    httpx.post(
        f"{emulator.url}/_emulator/channels/{workspace.channel_id}/friends",
        json={"friends": [{"user_id": u, "display_name": f"友{i}"} for i, u in enumerate(users)]},
    ).raise_for_status()
    due = timezone.now()
    for user_id in users:
        Contact.objects.create(
            workspace=workspace, line_user_id=user_id, line_status=LineStatus.FOLLOWING
        )
        MissingProfile.objects.create(
            workspace=workspace, line_user_id=user_id, attempts=1, next_attempt_at=due
        )

    started = time.monotonic()
    report = profiles.retry_due(workspace.pk)
    elapsed = time.monotonic() - started

    assert report.fetched == 10, report
    assert elapsed >= 1.5  # 10 requests at 5/s with a bucket of about one
    names = set(Contact.objects.values_list("line_display_name", flat=True))
    assert names == {f"友{i}" for i in range(10)}
    statuses = {s for u in users for s in profile_answers(emulator, u)}
    assert statuses == {"200"}  # never a 429
