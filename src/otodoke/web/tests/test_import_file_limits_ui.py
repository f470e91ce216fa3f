"""The mapping step answers a file it cannot take with a clear message (400), never a 500 or
a page with a select per column of a 100,000-column file (issue 12.14, 12.15)."""

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
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


@pytest.fixture(autouse=True)
def own_media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client: Client, body: bytes) -> Any:
    upload = SimpleUploadedFile("pos.csv", body, "text/csv")
    response = client.post("/w/salon/contacts/import/", {"kind": "contacts", "file": upload})
    assert response.status_code == 302
    return client.get(response["Location"])


def test_a_file_with_100000_columns_gets_a_short_refusal(
    client_as: Callable[[Role], Client],
) -> None:
    header = ",".join(["顧客番号", *(f"c{n}" for n in range(100_000))])
    page = _upload(client_as(Role.OPERATOR), f"{header}\r\n1\r\n".encode())

    assert page.status_code == 400
    text = page.content.decode()
    assert "100001" in text and "500" in text
    assert 'name="col_0"' not in text
    assert len(page.content) < 100_000


def test_a_cell_over_128_kib_in_the_first_rows_is_named_on_the_mapping_page(
    client_as: Callable[[Role], Client],
) -> None:
    body = "顧客番号,メモ\r\n1,ok\r\n2," + "x" * (200 * 1024) + "\r\n"
    page = _upload(client_as(Role.OPERATOR), body.encode())

    assert page.status_code == 400
    failure = re.search(r'data-testid="import-failure">([^<]+)<', page.content.decode())
    assert failure is not None
    assert "3 行目" in failure.group(1) and "128 KiB" in failure.group(1)


def test_a_cell_over_128_kib_further_down_fails_the_job_with_the_line(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OPERATOR)
    rows = "".join(f"{n},客{n}\r\n" for n in range(1, 40_000))  # past the preview's bytes
    body = ("顧客番号,氏名\r\n" + rows + "40000," + "x" * (200 * 1024) + "\r\n").encode()
    page = _upload(client, body)
    assert page.status_code == 200
    handle = re.search(r'name="f" value="([^"]+)"', page.content.decode())
    assert handle is not None
    form = {"f": handle.group(1), "kind": "contacts", "col_0": "external_id", "col_1": "name"}
    response = client.post("/w/salon/contacts/import/map/", form)
    job = ImportJob.objects.get()

    run_import_job.call(job.pk, str(upload_dir(workspace) / handle.group(1)))

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    html = client.get(response["Location"]).content.decode()
    assert "40001 行目" in html and "128 KiB" in html
