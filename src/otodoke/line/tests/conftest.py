"""Fixtures: a real emulator over HTTP, Otodoke's own webhook served by `live_server`, a
workspace wired to both, and helpers that sign webhooks like LINE and run the task worker."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import (
    TEST_CHANNEL_ID,
    TEST_SECRET,
    TEST_TOKEN,
    EmulatorServer,
)
from otodoke.contacts.models import Contact, Event
from otodoke.contacts.tagging import add_tags
from otodoke.line import services
from otodoke.line.services import signature_for
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace


@pytest.fixture(autouse=True)
def process_webhooks_at_once(settings: Settings) -> Iterator[None]:
    """Drain tasks become ready immediately, so `run_tasks()` right after a webhook sees them."""
    settings.LINE_WEBHOOK_BATCH_SECONDS = 0
    services._drain_scheduled_at.clear()
    yield
    services._drain_scheduled_at.clear()


@pytest.fixture
def workspace(emulator: EmulatorServer, transactional_db: None) -> Workspace:
    return create_workspace(
        name="Salon Hana",
        slug="salon-hana",
        channel_id=TEST_CHANNEL_ID,
        channel_secret=TEST_SECRET,
        channel_access_token=TEST_TOKEN,
        api_base_url=emulator.url,
    )


@pytest.fixture
def control(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """The emulator's control API for the test channel (friends act, webhooks go out)."""
    with httpx.Client(
        base_url=f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}", timeout=10
    ) as client:
        yield client


@pytest.fixture
def webhook_url(live_server: LiveServer, workspace: Workspace) -> str:
    return f"{live_server.url}{workspace.webhook_path()}"


@pytest.fixture
def wired(emulator: EmulatorServer, control: httpx.Client, webhook_url: str) -> httpx.Client:
    """The emulator's channel posts its webhooks to Otodoke's live server."""
    response = httpx.patch(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}", json={"webhook_url": webhook_url}
    )
    assert response.status_code == 200, response.text
    # The live server's first request imports the whole URLconf, which can take longer than
    # the 2 s LINE (and the emulator) wait for a webhook answer; warm it up first.
    assert httpx.get(webhook_url, timeout=30).status_code == 405
    return control


def run_tasks() -> None:
    """Run every ready task with the real database worker, in this process, then return."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def event(
    kind: str, user_id: str | None, *, event_id: str, timestamp_ms: int, **payload: Any
) -> dict[str, Any]:
    """A webhook event shaped like LINE's."""
    body: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": timestamp_ms,
        "webhookEventId": event_id,
        "deliveryContext": {"isRedelivery": False},
    }
    if user_id is not None:
        body["source"] = {"type": "user", "userId": user_id}
    body.update(payload)
    return body


def post_signed(
    url: str, events: list[dict[str, Any]], *, secret: str = TEST_SECRET
) -> httpx.Response:
    """POST a webhook the way LINE does: raw JSON body, base64 HMAC-SHA256 signature."""
    body = json.dumps(
        {"destination": "U" + "0" * 32, "events": events}, separators=(",", ":")
    ).encode()
    return httpx.post(
        url,
        content=body,
        headers={
            "content-type": "application/json",
            "x-line-signature": signature_for(secret, body),
        },
        timeout=10,
    )


# --- account linking: a customer, a LINE-only friend, and the verification form -------------

LINKING_USER = "U" + "c" * 32


@pytest.fixture
def public_url(settings: Settings, live_server: LiveServer) -> str:
    """Links we build (the verification page) point at the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def customer(workspace: Workspace) -> Contact:
    return Contact.objects.create(
        workspace=workspace,
        external_id="M-1001",
        name="山田 花子",
        phone="+819012345678",
        birth_date=date(1990, 4, 1),
    )


@pytest.fixture
def follower(wired: httpx.Client, workspace: Workspace) -> Contact:
    """A friend (LINKING_USER) who followed and has some history as a LINE-only contact."""
    wired.post(f"/friends/{LINKING_USER}/follow", json={"display_name": "はなこ"})
    run_tasks()
    contact = Contact.objects.get(line_user_id=LINKING_USER)
    add_tags(workspace, [contact.pk], ["spring-campaign"])
    Event.objects.create(
        workspace=workspace, contact=contact, kind="custom:coupon", occurred_at=timezone.now()
    )
    return contact


def open_form(browser: httpx.Client, url: str) -> str:
    page = browser.get(url)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def submit(browser: httpx.Client, url: str, **answers: str) -> httpx.Response:
    """Fill in and post the verification page at `url` (which carries the link token)."""
    token = open_form(browser, url)
    link_token = parse_qs(urlsplit(url).query)["linkToken"][0]
    return browser.post(
        url,
        data={"csrfmiddlewaretoken": token, "link_token": link_token, **answers},
    )


# The `customer` fixture's right answers on the verification page.
BY_PHONE = {"external_id": "M-1001", "phone": "090-1234-5678"}
BY_BIRTH_DATE = {"external_id": "M-1001", "birth_date": "1990-04-01"}


def answer(url: str, *, forwarded_for: str | None = None, **answers: str) -> httpx.Response:
    """A fresh browser opens the verification page at `url` and submits `answers` once."""
    headers = {"x-forwarded-for": forwarded_for} if forwarded_for else {}
    with httpx.Client(timeout=10, headers=headers) as browser:
        return submit(browser, url, **answers)


def link_through_line(browser: httpx.Client, url: str, **answers: str) -> httpx.Response:
    """Answer the verification page, then open LINE's page it redirects to (the emulator,
    which sends the accountLink webhook back); returns the verification page's answer."""
    answered = submit(browser, url, **answers)
    assert answered.status_code == 302, answered.text
    assert browser.get(answered.headers["location"]).status_code == 200
    return answered
