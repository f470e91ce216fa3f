"""The import job page quotes rejected cells in its error list. Phones, e-mails and LINE user
IDs there are personal data: a member without Permission.VIEW_PII (an operator, who may import)
sees them masked, as on the contact pages, and as errors.csv is refused to them. Every member
who may import sees every import of the workspace, whoever started it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from otodoke.contacts.models import ImportJob, ImportStatus
from otodoke.contacts.tasks import run_import_job
from otodoke.web.imports import upload_dir
from otodoke.web.pii import mask_text
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

# 連絡先TEL is no known phone header: the person maps it to "phone" by hand.
CSV = (
    "顧客番号,氏名,来店回数,連絡先TEL,メールアドレス,LINEユーザーID\r\n"
    "1,山田花子,3,03-1234,hanako yamada@example.jp,Uabc123\r\n"
    "2,佐藤一郎,たくさん,090-1111-2222,ichiro@example.jp,\r\n"
)
RAW_PII = ["03-1234", "hanako yamada@example.jp", "Uabc123"]


@pytest.fixture(autouse=True)
def own_media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(workspace: Workspace, client: Client) -> ImportJob:
    upload = SimpleUploadedFile("顧客.csv", CSV.encode("utf-8"), "text/csv")
    response = client.post("/w/salon/contacts/import/", {"kind": "contacts", "file": upload})
    handle = re.search(r'name="f" value="([^"]+)"', client.get(response["Location"]).text)
    assert handle is not None
    columns = ["external_id", "name", "visit_count", "phone", "email", "line_user_id"]
    form = {"f": handle.group(1), "kind": "contacts"}
    form |= {f"col_{i}": field for i, field in enumerate(columns)}
    client.post("/w/salon/contacts/import/map/", form)
    job = ImportJob.objects.get()
    assert job.options["mapping"] == {"連絡先TEL": "phone"}
    run_import_job.call(job.pk, str(upload_dir(workspace) / handle.group(1)))
    job.refresh_from_db()
    assert job.status == ImportStatus.SUCCEEDED
    return job


def _error_rows(page: str) -> str:
    found = re.search(r'data-testid="error-report".*?</table>', page, re.S)
    assert found, page
    return found.group(0)


def test_operator_sees_a_colleagues_import_with_rejected_pii_masked(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    job = _import(workspace, client_as(Role.MANAGER))
    stored = " ".join(str(e["message"]) for e in job.errors)
    assert all(value in stored for value in RAW_PII), stored  # what a manager is shown

    operator = client_as(Role.OPERATOR)
    listing = operator.get("/w/salon/contacts/import/").text
    assert f"/w/salon/contacts/import/{job.pk}/" in listing and "manager" in listing
    for page in (
        operator.get(f"/w/salon/contacts/import/{job.pk}/").text,
        # the progress fragment htmx polls renders the same list
        operator.get(f"/w/salon/contacts/import/{job.pk}/", HTTP_HX_REQUEST="true").text,
    ):
        rows = _error_rows(page)
        assert not [value for value in RAW_PII if value in rows], rows
        assert "•" in rows
        # Columns, line numbers and non-personal values still tell the person what to fix.
        assert "連絡先TEL" in rows and "LINEユーザーID" in rows and "メールアドレス" in rows
        assert "「たくさん」" in rows


def test_manager_sees_the_rejected_values_as_they_were(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    job = _import(workspace, client_as(Role.OPERATOR))
    rows = _error_rows(client_as(Role.MANAGER).get(f"/w/salon/contacts/import/{job.pk}/").text)
    assert all(value in rows for value in RAW_PII), rows


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("“+81 90-1234-5678” is not valid", "1234-5678"),
        ("０９０－１２３４－５６７８ は電話番号ではありません", "１２３４"),
        ("U0123456789abcdef0123456789abcdef is already linked", "0123456789abcdef0123"),
        ("hanako.yamada@example.jp is taken", "hanako.yamada"),
    ],
)
def test_pii_in_free_text_is_masked_wherever_it_appears(text: str, hidden: str) -> None:
    assert hidden not in mask_text(text)


def test_dates_and_amounts_are_not_mistaken_for_phones() -> None:
    text = "“2024-13-45” is not a valid date; “12,345,678円” is not an amount in yen"
    assert mask_text(text) == text
