"""The link page reads a typed phone number with the importer's own rules, so a customer who
types the number the way the shop's POS file wrote it is found."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
import pytest

from otodoke.contacts.cleaning import CleanError, clean_phone
from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact
from otodoke.line.linking import issue_account_link
from otodoke.line.models import AccountLinkNonce
from otodoke.line.tests.conftest import LINKING_USER, submit
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

SAME_NUMBER = [
    "090-1234-5678",
    "+81 90 1234 5678",
    "０９０－１２３４－５６７８",  # full-width digits and dashes
    "090 1234 5678",
    "090　1234　5678",  # ideographic spaces
    "090ｰ1234ｰ5678",  # half-width katakana prolonged-sound marks, as old POS exports write
]


def _import_customer(workspace: Workspace, phone: str, tmp_path: Path) -> Contact:
    path = tmp_path / "customers.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        rows = [["顧客番号", "氏名", "電話番号"], ["M-1001", "山田 花子", phone]]
        csv.writer(out).writerows(rows)
    summary = run_import(workspace, "contacts", path)
    assert summary.error_count == 0
    return Contact.objects.get(workspace=workspace, external_id="M-1001")


@pytest.mark.parametrize("typed", SAME_NUMBER)
def test_the_link_page_finds_the_customer_by_the_number_the_import_stored(
    typed: str, public_url: str, follower: Contact, workspace: Workspace, tmp_path: Path
) -> None:
    imported = _import_customer(workspace, typed, tmp_path)
    assert imported.phone == clean_phone(typed) == "+819012345678"
    invite = issue_account_link(workspace, LINKING_USER)

    with httpx.Client(timeout=10) as browser:
        answered = submit(browser, invite.url, external_id="M-1001", phone=typed)

    assert answered.status_code == 302, answered.text
    assert AccountLinkNonce.objects.get().contact_id == imported.pk


def test_a_number_the_importer_refuses_does_not_match_on_the_link_page(
    public_url: str, follower: Contact, workspace: Workspace, tmp_path: Path
) -> None:
    _import_customer(workspace, "090-1234-5678", tmp_path)
    too_long = "090-1234-56789"
    with pytest.raises(CleanError):
        clean_phone(too_long)
    invite = issue_account_link(workspace, LINKING_USER)

    with httpx.Client(timeout=10) as browser:
        answered = submit(browser, invite.url, external_id="M-1001", phone=too_long)

    assert answered.status_code == 400
    assert not AccountLinkNonce.objects.exists()
