"""CSV imports over the API (issue 12.6): upload → a job on the worker → poll it for status,
counts, errors (masked without `pii`), the mapping used and the tags found; errors.csv needs
`pii`; a bad upload is refused at once, naming the problem, and starts nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from otodoke.api.routers import imports as imports_router
from otodoke.api.tests.conftest import ApiClient, error_of, make_workspace
from otodoke.contacts.models import Contact, ImportJob
from otodoke.testing.tasks import run_ready_tasks
from otodoke.web.imports import upload_dir
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace

# 連絡先TEL is no header the importer knows: the mapping says it is the phone.
CSV = (
    "顧客番号,氏名,連絡先TEL,タグ\r\n"
    "1,山田花子,090-1111-2222,VIP;休眠\r\n"
    "2,佐藤一郎,03-12,VIP\r\n"
    "3,鈴木次郎,080-3333-4444,\r\n"
)
MAPPING = '{"連絡先TEL": "phone"}'
# The worker commits and closes its connection as in production: these tests need real
# transactions (on_commit then enqueues the job as it does for a client).
WORKER = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def own_media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client: ApiClient, body: bytes | None = None, **form: Any) -> Any:
    data: dict[str, Any] = {"kind": "contacts", **form}
    if body is not None:
        data["file"] = SimpleUploadedFile("顧客.csv", body, "text/csv")
    return client.client.post("/api/v1/imports", data, headers=client._headers())


def start(client: ApiClient, body: str = CSV, **form: Any) -> dict[str, Any]:
    """Upload, then run the queued job with the real database worker."""
    form = {"mapping": MAPPING, "tag_separator": "semicolon", **form}
    response = upload(client, body.encode(), **form)
    assert response.status_code == 202, response.content
    run_ready_tasks()
    return dict(response.json())


@WORKER
def test_an_upload_is_imported_by_the_worker_with_counts_mapping_and_tags(
    workspace: Workspace, api: Callable[..., ApiClient]
) -> None:
    writer = api("read", "write")
    queued = start(writer)
    assert queued["status"] == "pending" and queued["file_name"] == "顧客.csv"

    job = writer.get(f"/api/v1/imports/{queued['id']}").json()

    assert job["status"] == "succeeded" and job["progress"] == 1.0
    assert (job["rows"], job["created"], job["error_count"]) == (3, 2, 1)
    assert [(e["row"], e["column"]) for e in job["errors"]] == [(3, "連絡先TEL")]
    assert {"column": "連絡先TEL", "field": "phone"} in job["mapping_used"]
    assert job["tags_found"] == {"VIP": 1, "休眠": 1}
    assert job["tag_separator"] == "semicolon" and job["has_error_report"] is True
    assert Contact.objects.get(workspace=workspace, external_id="1").phone == "+819011112222"
    # The upload was the job's own: nothing of the customer list stays on disk.
    assert list(upload_dir(workspace).glob("*.csv")) == []
    audit = AuditLog.objects.get(action=AuditAction.IMPORTED)
    assert audit.actor_label.startswith("api:test (")


@WORKER
def test_a_dry_run_reports_without_storing(
    workspace: Workspace, api: Callable[..., ApiClient]
) -> None:
    writer = api("read", "write")
    queued = start(writer, dry_run="true")

    job = writer.get(f"/api/v1/imports/{queued['id']}").json()
    assert job["status"] == "succeeded" and job["dry_run"] is True and job["created"] == 2
    assert not Contact.objects.filter(workspace=workspace).exists()


@WORKER
def test_errors_are_masked_without_pii_and_errors_csv_needs_pii(
    workspace: Workspace, api: Callable[..., ApiClient]
) -> None:
    job_id = start(api("write"))["id"]
    reader, pii = api("read"), api("read", "pii")

    masked = reader.get(f"/api/v1/imports/{job_id}").json()["errors"][0]["message"]
    plain = pii.get(f"/api/v1/imports/{job_id}").json()["errors"][0]["message"]
    assert "03-12" in plain
    assert "03-12" not in masked and "••" in masked

    refused = reader.get(f"/api/v1/imports/{job_id}/errors.csv")
    assert refused.status_code == 403 and error_of(refused)["code"] == "missing_scope"
    answer = pii.get(f"/api/v1/imports/{job_id}/errors.csv")
    assert answer.status_code == 200 and answer["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert any("03-12" in cell for row in rows for cell in row)
    assert AuditLog.objects.filter(action=AuditAction.EXPORTED, target__endswith="errors").exists()


@WORKER
def test_a_job_without_rejected_rows_has_no_errors_csv(api: Callable[..., ApiClient]) -> None:
    clean = "顧客番号,氏名\r\n1,山田\r\n"
    job = start(api("read", "write", "pii"), body=clean, mapping="")
    answer = api("pii").get(f"/api/v1/imports/{job['id']}/errors.csv")
    assert answer.status_code == 404 and error_of(answer)["code"] == "not_found"


BAD_UPLOADS: list[tuple[str, dict[str, Any], int, str, str]] = [
    # (case, form, status, error code, detail path)
    ("no file", {"body": None}, 422, "validation_error", "file"),
    ("wrong kind", {"kind": "orders"}, 422, "validation_error", "kind"),
    ("png", {"body": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, 422, "not_csv", "file"),
    ("xlsx", {"body": b"PK\x03\x04\x14\x00\x06\x00"}, 422, "not_csv", "file"),
    ("empty", {"body": b""}, 422, "invalid_file", "file"),
    ("no customer number", {"body": "氏名\r\n山田\r\n".encode()}, 422, "invalid_file", "file"),
    ("unknown field", {"mapping": '{"氏名": "nickname"}'}, 422, "invalid_file", "mapping"),
    ("missing column", {"mapping": '{"携帯": "phone"}'}, 422, "invalid_file", "mapping"),
    ("mapping not an object", {"mapping": '["phone"]'}, 422, "validation_error", "mapping"),
    ("tag separator", {"tag_separator": "tab"}, 422, "validation_error", "tag_separator"),
    ("encoding", {"encoding": "latin-1"}, 422, "validation_error", "encoding"),
]


@pytest.mark.parametrize(
    ("form", "status", "code", "path"),
    [case[1:] for case in BAD_UPLOADS],
    ids=[case[0] for case in BAD_UPLOADS],
)
def test_a_bad_upload_is_refused_naming_the_problem_and_starts_nothing(
    workspace: Workspace,
    api: Callable[..., ApiClient],
    form: dict[str, Any],
    status: int,
    code: str,
    path: str,
) -> None:
    form = dict(form)
    body = form.pop("body", "顧客番号,氏名\r\n1,山田\r\n".encode())
    response = upload(api("write"), body, **form)

    assert response.status_code == status, response.content
    error = error_of(response)
    assert error["code"] == code
    assert path in [d["path"] for d in error["details"]]
    assert all(d["message"] for d in error["details"])
    assert not ImportJob.objects.exists()
    assert list(upload_dir(workspace).glob("*.csv")) == []


def test_a_file_over_the_limit_is_413(
    workspace: Workspace, api: Callable[..., ApiClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_router, "MAX_UPLOAD_BYTES", 10)
    response = upload(api("write"), "顧客番号,氏名\r\n1,山田\r\n".encode())

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large" and "200" in error["message"]
    assert not ImportJob.objects.exists()


def test_importing_needs_the_write_scope(api: Callable[..., ApiClient]) -> None:
    response = upload(api("read"), CSV.encode())
    assert response.status_code == 403 and error_of(response)["code"] == "missing_scope"
    assert not ImportJob.objects.exists()


def test_imports_are_listed_by_cursor_and_only_the_workspace_own(
    workspace: Workspace, api: Callable[..., ApiClient], tmp_path: Path
) -> None:
    for n in range(3):
        ImportJob.objects.create(workspace=workspace, kind="contacts", file_name=f"{n}.csv")
    other = ImportJob.objects.create(
        workspace=make_workspace("Other"), kind="events", file_name="theirs.csv"
    )
    reader = api("read")

    first = reader.get("/api/v1/imports", {"limit": 2}).json()
    second = reader.get("/api/v1/imports", {"limit": 2, "cursor": first["next_cursor"]}).json()

    names = [j["file_name"] for j in first["items"] + second["items"]]
    assert names == ["0.csv", "1.csv", "2.csv"] and second["next_cursor"] is None
    assert first["items"][0]["status"] == "pending" and first["items"][0]["errors"] == []
    missing = reader.get(f"/api/v1/imports/{other.pk}")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_the_import_operations_are_in_the_openapi_schema(api: Callable[..., ApiClient]) -> None:
    schema = api("read").get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/imports"])
    assert "get" in paths["/api/v1/imports/{job_id}"]
    assert (
        "text/csv"
        in paths["/api/v1/imports/{job_id}/errors.csv"]["get"]["responses"]["200"]["content"]
    )
    form = paths["/api/v1/imports"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert {"kind", "file", "mapping", "tag_separator"} <= set(form["schema"]["properties"])


def test_a_refusal_is_in_japanese_by_default_and_names_the_file(
    api: Callable[..., ApiClient],
) -> None:
    response = upload(api("write"), b"PK\x03\x04\x14\x00\x06\x00")

    error = error_of(response)
    assert "CSV ではありません" in error["message"] and "Excel" in error["message"]
    assert error["details"] == [{"path": "file", "message": error["message"]}]
