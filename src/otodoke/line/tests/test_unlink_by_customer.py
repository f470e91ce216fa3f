"""Item 22, the customer's side: a linked friend sends 「連携解除」 in LINE, gets a button (a free
reply), opens our page in a phone-sized Chromium and unlinks. The page works only with the
signed token issued for that friend and that link, and only by a POST with Django's CSRF token.
LINE is the emulator over real HTTP; webhooks arrive signed at the live server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LineStatus, LinkedVia
from otodoke.line import unlinking
from otodoke.line.tests.conftest import LINKING_USER, run_tasks
from otodoke.line.tests.test_account_linking_browser import LINE_IN_APP_UA
from otodoke.web.tests.conftest import browser, playwright_session  # noqa: F401 - fixtures
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser: Browser) -> Page:  # noqa: F811 - the imported fixture
    context = browser.new_context(
        locale="ja-JP",
        viewport={"width": 390, "height": 844},
        user_agent=LINE_IN_APP_UA,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    return context.new_page()


@pytest.fixture
def linked(wired: httpx.Client, workspace: Workspace) -> Contact:
    """A customer whose LINE account (LINKING_USER, a following friend) is linked."""
    wired.post(f"/friends/{LINKING_USER}/follow", json={"display_name": "はなこ"})
    run_tasks()
    Contact.objects.filter(line_user_id=LINKING_USER).update(
        external_id="M-1001",
        name="山田 花子",
        line_linked_at=timezone.now(),
        line_linked_via=LinkedVia.ACCOUNT_LINK,
    )
    return Contact.objects.get(line_user_id=LINKING_USER)


def received(control: httpx.Client) -> list[dict[str, Any]]:
    response = control.get(f"/friends/{LINKING_USER}/messages")
    return [m for record in response.json()["received"] for m in record["messages"]]


def button_uri(message: dict[str, Any]) -> str:
    assert message["type"] == "template", message
    (action,) = message["template"]["actions"]
    assert action["type"] == "uri"
    return str(action["uri"])


def answers(emulator: EmulatorServer, path: str) -> int:
    response = httpx.get(f"{emulator.url}/_emulator/responses", params={"path": path}, timeout=10)
    return len(response.json()["requests"])


def test_a_linked_friend_unlinks_from_a_phone_in_chromium(
    emulator: EmulatorServer,
    public_url: str,
    wired: httpx.Client,
    linked: Contact,
    workspace: Workspace,
    phone: Page,
) -> None:
    wired.post(f"/friends/{LINKING_USER}/message", json={"text": "連携解除"})
    run_tasks()  # the message event, which enqueues the offer
    run_tasks()

    (message,) = received(wired)
    url = button_uri(message)
    assert url.startswith(f"{public_url}/link/{workspace.slug}/unlink/?t=")
    assert answers(emulator, "/v2/bot/message/reply") == 1  # free: the event's reply token
    assert answers(emulator, "/v2/bot/message/push") == 0

    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("LINE 連携の解除")
    expect(phone.get_by_text("会員番号 ••1001")).to_be_visible()
    assert Contact.objects.get(pk=linked.pk).line_user_id == LINKING_USER  # GET changes nothing
    phone.get_by_role("button", name="連携を解除する").click()

    expect(phone.get_by_test_id("unlinked")).to_contain_text("連携を解除しました")
    customer = Contact.objects.get(pk=linked.pk)
    assert (customer.line_user_id, customer.external_id, customer.name) == (
        None,
        "M-1001",
        "山田 花子",
    )
    friend = Contact.objects.get(workspace=workspace, line_user_id=LINKING_USER)
    assert friend.is_line_only and friend.line_status == LineStatus.FOLLOWING
    entry = AuditLog.objects.get(action=AuditAction.CONTACT_UNLINKED)
    assert entry.actor_label == "customer (LINE)" and entry.details["by_customer"] is True

    phone.goto(url)  # the same link again: that link is gone, so is the page
    expect(phone.get_by_role("alert")).to_contain_text("無効")


def test_the_link_keyword_from_a_linked_friend_offers_the_unlink_page(
    public_url: str, wired: httpx.Client, linked: Contact, workspace: Workspace
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")
    wired.post(f"/friends/{LINKING_USER}/message", json={"text": "会員連携"})
    run_tasks()
    run_tasks()
    (message,) = received(wired)
    assert "/unlink/?t=" in button_uri(message)
    assert not AuditLog.objects.filter(action=AuditAction.LINK_INVITED).exists()


def test_forged_expired_or_foreign_tokens_and_posts_without_csrf_unlink_nobody(
    linked: Contact, workspace: Workspace, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = f"/link/{workspace.slug}/unlink/"
    good = unlinking.make_token(linked)
    other = Contact.objects.create(workspace=workspace, external_id="M-2002", name="佐藤")
    forged = [
        good[:-2] + ("AA" if not good.endswith("AA") else "BB"),  # tampered signature
        signing.dumps({"w": workspace.pk, "u": LINKING_USER, "c": linked.pk}, salt="other"),
        signing.dumps({"w": workspace.pk, "u": LINKING_USER, "c": other.pk}, salt=unlinking.SALT),
        signing.dumps(
            {"w": workspace.pk + 1, "u": LINKING_USER, "c": linked.pk}, salt=unlinking.SALT
        ),
        "",
    ]
    client = Client(enforce_csrf_checks=True)
    for token in forged:
        assert client.get(page, {"t": token}).status_code == 404, token
    # A page opened with a good token, posted from another site (no CSRF token): refused.
    assert client.get(page, {"t": good}).status_code == 200
    assert client.post(page, {"t": good}).status_code == 403
    monkeypatch.setattr(unlinking, "TOKEN_MAX_AGE", timedelta(seconds=-1))
    assert client.get(page, {"t": good}).status_code == 404  # expired
    assert Contact.objects.get(pk=linked.pk).line_user_id == LINKING_USER
    assert not AuditLog.objects.filter(action=AuditAction.CONTACT_UNLINKED).exists()
