"""The account-link flow end to end over real HTTP: Otodoke's page, the emulator's LINE page,
the accountLink webhook back into Otodoke, and the merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.utils import timezone

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, ContactTag, Event, LineStatus, LinkedVia
from otodoke.line.linking import MAX_ATTEMPTS_PER_TOKEN, issue_account_link
from otodoke.line.models import (
    AccountLinkNonce,
    LinkVerificationAttempt,
    WebhookEvent,
    WebhookStatus,
)
from otodoke.line.tests.conftest import (
    BY_BIRTH_DATE,
    BY_PHONE,
    LINKING_USER,
    answer,
    event,
    link_through_line,
    post_signed,
    run_tasks,
    submit,
)
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

USER = LINKING_USER
OTHER_USER = "U" + "d" * 32


def test_full_account_link_flow_links_and_merges(
    emulator: EmulatorServer,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    invite = issue_account_link(workspace, USER)
    assert invite.url.startswith(f"{public_url}/link/{workspace.slug}/?linkToken=")

    with httpx.Client(timeout=10) as browser:
        form = browser.get(invite.url)
        assert "会員番号" in form.text  # Japanese by default
        answered = submit(browser, invite.url, **BY_PHONE)
        assert answered.status_code == 302
        location = answered.headers["location"]
        assert location.startswith(f"{emulator.url}/dialog/bot/accountLink?")
        query = parse_qs(urlsplit(location).query)
        assert query["linkToken"] == [invite.link_token]
        assert len(query["nonce"][0]) >= 22  # ≥128 bits, URL-safe

        line_page = browser.get(location)  # the friend's LINE app opens LINE's page
        assert line_page.status_code == 200
    run_tasks()

    link_event = WebhookEvent.objects.get(event_type="accountLink")
    assert link_event.status == WebhookStatus.PROCESSED, link_event.outcome
    assert not Contact.objects.filter(pk=follower.pk).exists()
    linked = Contact.objects.get(pk=customer.pk)
    assert linked.line_user_id == USER
    assert linked.line_status == LineStatus.FOLLOWING
    assert linked.line_display_name == "はなこ"
    assert linked.line_linked_via == LinkedVia.ACCOUNT_LINK
    assert linked.line_linked_at == link_event.timestamp
    tags = set(ContactTag.objects.filter(contact=linked).values_list("tag__name", flat=True))
    assert tags == {"line", "spring-campaign"}
    assert Event.objects.get(kind="custom:coupon").contact_id == linked.pk
    assert Contact.objects.count() == 1
    assert AccountLinkNonce.objects.get().used_at is not None


def test_birth_date_works_instead_of_the_phone(
    emulator: EmulatorServer,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    invite = issue_account_link(workspace, USER)
    assert answer(invite.url, **BY_BIRTH_DATE).status_code == 302


def test_wrong_membership_number_is_refused(
    public_url: str, customer: Contact, follower: Contact, workspace: Workspace
) -> None:
    invite = issue_account_link(workspace, USER)

    answered = answer(invite.url, **(BY_PHONE | {"external_id": "M-9999"}))

    assert answered.status_code == 400
    assert "location" not in answered.headers
    assert not AccountLinkNonce.objects.exists()


def test_too_many_attempts_lock_the_link_even_for_the_right_answer(
    public_url: str, customer: Contact, follower: Contact, workspace: Workspace
) -> None:
    invite = issue_account_link(workspace, USER)

    with httpx.Client(timeout=10) as browser:
        for guess in range(MAX_ATTEMPTS_PER_TOKEN):
            wrong = submit(browser, invite.url, external_id=f"M-{guess}", phone="09012345678")
            assert wrong.status_code == 400
        locked = submit(browser, invite.url, **BY_PHONE)

    assert locked.status_code == 429
    assert "10分" in locked.text  # told plainly, in Japanese, how long to wait
    assert not AccountLinkNonce.objects.exists()
    assert LinkVerificationAttempt.objects.filter(succeeded=False).count() == 6


def test_a_reused_nonce_links_nothing(
    emulator: EmulatorServer,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    invite = issue_account_link(workspace, USER)
    with httpx.Client(timeout=10) as browser:
        link_through_line(browser, invite.url, **BY_PHONE)
    run_tasks()
    nonce = AccountLinkNonce.objects.get().nonce
    # Someone replays the nonce for another LINE user (signed: it comes through LINE).
    webhook_url = f"{public_url}{workspace.webhook_path()}"
    post_signed(
        webhook_url, [event("follow", OTHER_USER, event_id="01OTHERFOLLOW", timestamp_ms=1)]
    )
    replay = event(
        "accountLink",
        OTHER_USER,
        event_id="01REPLAY",
        timestamp_ms=int(datetime.now(UTC).timestamp() * 1000),
        link={"result": "ok", "nonce": nonce},
    )

    post_signed(webhook_url, [replay])
    run_tasks()

    refused = WebhookEvent.objects.get(webhook_event_id="01REPLAY")
    assert refused.status == WebhookStatus.IGNORED
    assert "already used" in refused.outcome
    assert Contact.objects.get(pk=customer.pk).line_user_id == USER
    assert Contact.objects.get(line_user_id=OTHER_USER).external_id is None


def test_an_expired_nonce_links_nothing(
    webhook_url: str, customer: Contact, workspace: Workspace
) -> None:
    AccountLinkNonce.objects.create(
        workspace=workspace,
        contact=customer,
        nonce="expired-nonce-value-123",
        link_token="t",
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    late = event(
        "accountLink",
        USER,
        event_id="01LATE",
        timestamp_ms=int(datetime.now(UTC).timestamp() * 1000),
        link={"result": "ok", "nonce": "expired-nonce-value-123"},
    )

    post_signed(webhook_url, [late])
    run_tasks()

    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookStatus.IGNORED
    assert "expired" in stored.outcome
    assert Contact.objects.get(pk=customer.pk).line_user_id is None


def test_a_failed_link_result_links_nothing(
    emulator: EmulatorServer,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    invite = issue_account_link(workspace, USER)
    with httpx.Client(timeout=10) as browser:
        answered = submit(browser, invite.url, **BY_PHONE)
        # Someone else's LINE app opens the link: LINE answers `failed`, with no source.
        impostor = browser.get(answered.headers["location"] + f"&as={OTHER_USER}")
    assert impostor.status_code == 403
    run_tasks()

    stored = WebhookEvent.objects.get(event_type="accountLink")
    assert stored.status == WebhookStatus.IGNORED
    assert "failed" in stored.outcome
    assert Contact.objects.get(pk=customer.pk).line_user_id is None
    assert Contact.objects.filter(pk=follower.pk).exists()
