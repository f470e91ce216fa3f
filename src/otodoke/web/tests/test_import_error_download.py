"""The import page offers every rejected row as a CSV download (the page lists only the first
ones); the file quotes the rejected cells, so it needs the personal-data permission."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from otodoke.contacts.jobs import error_report_path
from otodoke.contacts.models import ImportJob
from otodoke.contacts.tasks import run_import_job
from otodoke.web.imports import upload_dir
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role


@pytest.fixture(autouse=True)
def own_media_root(settings: Any, tmp_path: Path) -> None:
    """Uploads and error reports of these tests stay out of the shared test data folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


CSV = "顧客番号,氏名,携帯電話\r\n1,山田花子,090-1111-2222\r\n2,佐藤一郎,x-123\r\n3,,abc\r\n"


def imported_job(workspace: Workspace, client: Client) -> ImportJob:
    upload = SimpleUploadedFile("顧客.csv", CSV.encode("cp932"), "text/csv")
    response = client.post("/w/salon/contacts/import/", {"kind": "contacts", "file": upload})
    page = client.get(response["Location"]).text
    handle = re.search(r'name="f" value="([^"]+)"', page)
    assert handle is not None
    form = {"f": handle.group(1), "kind": "contacts", "col_0": "external_id", "col_1": "name"}
    client.post("/w/salon/contacts/import/map/", form | {"col_2": "phone"})
    job = ImportJob.objects.get()
    run_import_job.call(job.pk, str(upload_dir(workspace) / handle.group(1)))
    job.refresh_from_db()
    return job


def test_job_page_offers_the_full_error_report_and_it_lists_every_bad_row(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.MANAGER)
    job = imported_job(workspace, client)
    assert job.error_count == 2
    assert error_report_path(job).is_file()

    page = client.get(f"/w/salon/contacts/import/{job.pk}/").text
    assert 'data-testid="error-download"' in page
    response = client.get(f"/w/salon/contacts/import/{job.pk}/errors.csv")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.getvalue().decode("utf-8-sig")
    lines = body.splitlines()
    assert lines[0] == "行,列,値,内容"
    assert [line.split(",")[:3] for line in lines[1:]] == [
        ["3", "携帯電話", "x-123"],
        ["4", "携帯電話", "abc"],
    ]
    entry = AuditLog.objects.get(action=AuditAction.EXPORTED)
    assert entry.details == {"job": job.pk, "rows": 2}


def test_members_without_the_personal_data_permission_cannot_download(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    operator = client_as(Role.OPERATOR)  # may import, may not see phones
    job = imported_job(workspace, operator)

    assert (
        'data-testid="error-download"'
        not in operator.get(f"/w/salon/contacts/import/{job.pk}/").text
    )
    assert operator.get(f"/w/salon/contacts/import/{job.pk}/errors.csv").status_code == 403
    assert not AuditLog.objects.filter(action=AuditAction.EXPORTED).exists()
