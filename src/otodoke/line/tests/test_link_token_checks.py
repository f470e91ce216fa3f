"""The verification page answers only for link tokens Otodoke was issued, and its limits count
per token, per friend and per real client IP (X-Forwarded-For only from trusted proxies)."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact
from otodoke.line import linking
from otodoke.line.linking import issue_account_link
from otodoke.line.models import AccountLinkNonce, IssuedLinkToken, LinkVerificationAttempt
from otodoke.line.tests.conftest import (
    BY_BIRTH_DATE,
    LINKING_USER,
    answer,
    link_through_line,
    open_form,
    run_tasks,
    submit,
)
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

OTHER_USER = "U" + "e" * 32


def test_issuing_records_the_token_for_the_friend_with_lines_ten_minutes(
    public_url: str, follower: Contact, workspace: Workspace
) -> None:
    before = timezone.now()
    invite = issue_account_link(workspace, LINKING_USER)

    issued = IssuedLinkToken.objects.get()
    assert (issued.token, issued.line_user_id) == (invite.link_token, LINKING_USER)
    assert before <= issued.issued_at <= timezone.now()
    assert issued.expires_at - issued.issued_at == timedelta(minutes=10)
    assert issued.used_at is None


def test_a_made_up_token_gets_an_error_page_and_no_nonce(
    public_url: str, customer: Contact, workspace: Workspace
) -> None:
    url = f"{public_url}/link/{workspace.slug}/?linkToken=made-up-token-1234567890"
    with httpx.Client(timeout=10) as browser:
        page = browser.get(url)
        assert page.status_code == 404
        assert "csrfmiddlewaretoken" not in page.text  # no form to fill in
        assert "このリンクは無効です" in page.text
    assert not AccountLinkNonce.objects.exists()
    assert not LinkVerificationAttempt.objects.exists()


def test_a_forged_token_is_refused_even_with_a_valid_csrf_token(
    public_url: str, customer: Contact, follower: Contact, workspace: Workspace
) -> None:
    real = issue_account_link(workspace, LINKING_USER)
    forged = f"{public_url}/link/{workspace.slug}/?linkToken=forged-token-abcdefghijklmnop"
    with httpx.Client(timeout=10) as browser:
        csrf = open_form(browser, real.url)
        answered = browser.post(
            forged,
            data={
                "csrfmiddlewaretoken": csrf,
                "link_token": "forged-token-abcdefghijklmnop",
                **BY_BIRTH_DATE,
            },
        )
    assert answered.status_code == 404
    assert "このリンクは無効です" in answered.text
    assert not AccountLinkNonce.objects.exists()


def test_an_expired_token_is_refused(
    public_url: str, customer: Contact, follower: Contact, workspace: Workspace
) -> None:
    invite = issue_account_link(workspace, LINKING_USER)
    IssuedLinkToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    with httpx.Client(timeout=10) as browser:
        page = browser.get(invite.url)

    assert page.status_code == 410
    assert "有効期限" in page.text and "10分" in page.text


def test_a_token_line_has_consumed_is_refused(
    emulator: EmulatorServer,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    invite = issue_account_link(workspace, LINKING_USER)
    with httpx.Client(timeout=10) as browser:
        link_through_line(browser, invite.url, **BY_BIRTH_DATE)
        run_tasks()
        again = browser.get(invite.url)

    assert IssuedLinkToken.objects.get().used_at is not None
    assert again.status_code == 410
    assert "使用済み" in again.text


def _wrong_guesses(url: str, n: int, *, forwarded_for: list[str] | None = None) -> None:
    with httpx.Client(timeout=10) as browser:
        for i in range(n):
            headers = {"x-forwarded-for": forwarded_for[i]} if forwarded_for else {}
            browser.headers.update(headers)
            wrong = submit(browser, url, external_id=f"M-9{i}", birth_date="2000-01-01")
            assert wrong.status_code in (400, 429)


@pytest.fixture
def ip_limit_of_three(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linking, "MAX_ATTEMPTS_PER_IP", 3)
    monkeypatch.setattr(linking, "MAX_ATTEMPTS_PER_TOKEN", 100)
    monkeypatch.setattr(linking, "MAX_ATTEMPTS_PER_FRIEND", 100)


def test_rotating_x_forwarded_for_does_not_reset_the_ip_limit(
    settings: Settings,
    ip_limit_of_three: None,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    settings.TRUSTED_PROXIES = []
    invite = issue_account_link(workspace, LINKING_USER)
    _wrong_guesses(invite.url, 3, forwarded_for=["198.51.100.1", "198.51.100.2", "198.51.100.3"])

    locked = answer(invite.url, forwarded_for="198.51.100.4", **BY_BIRTH_DATE)

    assert locked.status_code == 429
    assert set(LinkVerificationAttempt.objects.values_list("ip_address", flat=True)) == {
        "127.0.0.1"
    }


def test_behind_a_trusted_proxy_each_client_ip_has_its_own_limit(
    settings: Settings,
    ip_limit_of_three: None,
    public_url: str,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    invite = issue_account_link(workspace, LINKING_USER)
    _wrong_guesses(invite.url, 3, forwarded_for=["198.51.100.1"] * 3)

    assert answer(invite.url, forwarded_for="198.51.100.1", **BY_BIRTH_DATE).status_code == 429
    assert answer(invite.url, forwarded_for="203.0.113.7", **BY_BIRTH_DATE).status_code == 302


def test_ten_bad_guesses_by_one_customer_do_not_block_another(
    wired: httpx.Client, public_url: str, customer: Contact, follower: Contact, workspace: Workspace
) -> None:
    wired.post(f"/friends/{OTHER_USER}/follow", json={"display_name": "たろう"})
    run_tasks()
    Contact.objects.create(workspace=workspace, external_id="M-2002", birth_date=date(1985, 5, 5))
    guesser = issue_account_link(workspace, LINKING_USER)
    _wrong_guesses(guesser.url, 10)  # same IP as everyone else here (127.0.0.1)

    other = issue_account_link(workspace, OTHER_USER)
    answered = answer(other.url, external_id="M-2002", birth_date="1985-05-05")

    assert answered.status_code == 302


def test_a_new_invitation_does_not_give_a_guesser_fresh_attempts(
    public_url: str, customer: Contact, follower: Contact, workspace: Workspace
) -> None:
    first = issue_account_link(workspace, LINKING_USER)
    _wrong_guesses(first.url, linking.MAX_ATTEMPTS_PER_TOKEN + 1)
    second = issue_account_link(workspace, LINKING_USER)
    spent = linking.MAX_ATTEMPTS_PER_FRIEND - (linking.MAX_ATTEMPTS_PER_TOKEN + 1)
    _wrong_guesses(second.url, spent)

    locked = answer(second.url, **BY_BIRTH_DATE)

    assert locked.status_code == 429
    assert not AccountLinkNonce.objects.exists()
