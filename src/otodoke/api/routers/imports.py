"""CSV imports over the API: upload a file, the worker imports it as an ImportJob (the same job
the UI's import starts), then poll it. The upload is checked before the job is queued (a
CSV, a known encoding, the columns the kind needs, a mapping naming real columns and fields),
so a file the importer could not read is refused at once instead of failing on the worker."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, cast

from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from otodoke.api.auth import Caller, principal, require
from otodoke.api.errors import COMMON_ERRORS, ApiError
from otodoke.api.pagination import page
from otodoke.api.routers.segments import PageParams
from otodoke.contacts import jobs
from otodoke.contacts.imports import ImportFileError
from otodoke.contacts.imports.reading import ENCODINGS, open_csv
from otodoke.contacts.imports.rows import TAG_SEPARATOR_CHOICES
from otodoke.contacts.imports.runner import resolve_columns
from otodoke.contacts.models import ImportJob, ImportKind
from otodoke.contacts.tasks import run_import_job
from otodoke.web import imports as web_imports
from otodoke.workspaces.models import AuditAction
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import record_audit

router = Router()

# The UI's limit (web.forms_contacts): a POS export of a few hundred thousand rows fits.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
# A text file has no NUL bytes in its first KiBs; spreadsheets, images and archives do.
_SNIFF_BYTES = 64 * 1024
_ZIP_MAGIC = b"PK\x03\x04"

Kind = Literal["contacts", "events", "links"]


class ImportErrorOut(Schema):
    row: int = Field(description="Line of the file (the header is line 1)")
    column: str = Field(description="The file's column (or the field) the problem is in")
    message: str = Field(
        description="Why the row was rejected. Without the `pii` scope, phone numbers, e-mail "
        "addresses and LINE user IDs quoted in it are masked, as in the UI."
    )


class ColumnOut(Schema):
    column: str
    field: str = Field(description="The field the column fed; `-` when it was not imported")


class ImportJobOut(Schema):
    id: int
    kind: Kind
    file_name: str
    status: Literal["pending", "running", "succeeded", "failed"]
    progress: float = Field(description="0.0–1.0, by bytes read")
    dry_run: bool
    tag_separator: str
    rows: int
    created: int
    updated: int
    unchanged: int
    error_count: int = Field(description="Every rejected row; `errors` lists the first ones")
    errors: list[ImportErrorOut]
    failure: str = Field(description="Why a failed job stopped (masked without `pii`)")
    mapping_used: list[ColumnOut]
    tags_found: dict[str, int] = Field(description="Tags named in the file: rows per tag")
    has_error_report: bool = Field(description="Whether /errors.csv has every rejected row")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportJobPage(Schema):
    items: list[ImportJobOut]
    next_cursor: str | None


def job_out(job: ImportJob, caller: Caller) -> ImportJobOut:
    sees_pii = caller.sees_pii
    options = job.options or {}
    return ImportJobOut(
        id=job.pk,
        kind=cast(Kind, job.kind),
        file_name=job.file_name,
        status=job.status,  # type: ignore[arg-type]
        progress=job.progress,
        dry_run=bool(options.get("dry_run")),
        tag_separator=str(options.get("tag_separator", "auto")),
        rows=job.rows,
        created=job.created,
        updated=job.updated,
        unchanged=job.unchanged,
        error_count=job.error_count,
        errors=[
            ImportErrorOut(
                row=int(str(e.get("row") or 0)),
                column=str(e.get("column", "")),
                message=str(e.get("message", "")),
            )
            for e in web_imports.visible_errors(job, sees_pii=sees_pii)
        ],
        failure=web_imports.visible_failure(job, sees_pii=sees_pii),
        mapping_used=[ColumnOut(**c) for c in job.mapping_used if isinstance(c, dict)],
        tags_found=job.tags_found,
        has_error_report=job.error_count > 0 and jobs.error_report_path(job).is_file(),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _file_problem(message: str, *, status: int = 422, code: str = "invalid_file") -> ApiError:
    return ApiError(status, message, code=code, details=[("file", message)])


def _check_is_text(head: bytes) -> None:
    if head.startswith(_ZIP_MAGIC):
        raise _file_problem(
            _("The file is a ZIP or Excel workbook, not a CSV: save it as CSV first"),
            code="not_csv",
        )
    if b"\x00" in head:
        raise _file_problem(
            _("The file is not a CSV (it holds binary data): upload a CSV text file"),
            code="not_csv",
        )


def _mapping(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        loaded: Any = json.loads(raw)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        message = _('The mapping must be a JSON object {"column": "field"}')
        raise ApiError(422, _("The request is not valid"), details=[("mapping", message)])
    return cast(dict[str, str], loaded)


def _choice(name: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        message = _("Unknown value “%(value)s” (choose one of %(choices)s)") % {
            "value": value,
            "choices": ", ".join(choices),
        }
        raise ApiError(422, _("The request is not valid"), details=[(name, message)])
    return value


@router.post(
    "",
    response={202: ImportJobOut, **COMMON_ERRORS},
    summary="Import a CSV file in the background",
    description="multipart/form-data with `kind` (contacts, events or links) and `file` (a "
    "CSV with a header, UTF-8 or Shift_JIS, up to 200 MB). Optional: `mapping`, a JSON object "
    '`{"column": "field"}` for columns the importer does not recognise by itself (`-` '
    "ignores a column; `attributes.KEY` / `properties.KEY` keeps one), `tag_separator` "
    "(how the タグ column is split), `encoding` and `dry_run`. The file is checked first: "
    "one that is not a CSV, lacks a required column or has a mapping naming an unknown "
    "column or field answers 422 (413 when too large) and starts nothing. Otherwise the "
    "answer is 202 with the queued job: poll `GET /imports/{id}` until `status` is "
    "`succeeded` or `failed`. Needs the `write` scope.",
)
def create_import(
    request: HttpRequest,
    kind: Form[Kind],
    file: File[UploadedFile],
    mapping: Form[str | None] = None,
    tag_separator: Form[str] = "auto",
    encoding: Form[str] = "auto",
    dry_run: Form[bool] = False,
) -> Status[ImportJobOut]:
    caller = require(request, Permission.EDIT)
    explicit = _mapping(mapping)
    _choice("tag_separator", tag_separator, list(TAG_SEPARATOR_CHOICES))
    _choice("encoding", encoding, ENCODINGS)
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise _file_problem(_("The file is larger than 200 MB."), status=413, code="too_large")
    file.seek(0)
    _check_is_text(file.read(_SNIFF_BYTES))
    file.seek(0)
    workspace = caller.workspace
    handle = web_imports.store_upload(workspace, file)
    path = web_imports.stored_path(workspace, handle)
    try:
        header = open_csv(path, encoding).header
    except ImportFileError as exc:
        path.unlink(missing_ok=True)
        raise _file_problem(str(exc)) from exc
    try:
        resolve_columns(ImportKind(kind), header, explicit)
    except ImportFileError as exc:
        path.unlink(missing_ok=True)
        # A mapping naming a missing column or an unknown field; or no required column, which
        # a mapping can fix.
        where = "mapping" if explicit else "file"
        raise ApiError(422, str(exc), code="invalid_file", details=[(where, str(exc))]) from exc
    options: dict[str, Any] = {
        "mapping": explicit,
        "tag_separator": tag_separator,
        "encoding": encoding,
        "dry_run": dry_run,
        # The upload is ours: the job deletes it when it ends (as the UI's uploads).
        "delete_file": True,
        # Who the audit log names when the import lands.
        "actor_label": caller.label,
    }
    with transaction.atomic():
        job = jobs.create_job(workspace, kind, path, options=options)
        job.file_name = (file.name or path.name)[:255]
        job.save(update_fields=["file_name"])
        # The worker must see the committed job row.
        transaction.on_commit(lambda: run_import_job.enqueue(job.pk, str(path)))
    return Status(202, job_out(job, caller))


@router.get("", response={200: ImportJobPage, **COMMON_ERRORS}, summary="List imports")
def list_imports(request: HttpRequest, params: Query[PageParams]) -> ImportJobPage:
    caller = principal(request)
    caller.require(Permission.VIEW)
    rows, next_cursor = page(
        ImportJob.objects.filter(workspace=caller.workspace),
        cursor=params.cursor,
        limit=params.limit,
    )
    return ImportJobPage(items=[job_out(j, caller) for j in rows], next_cursor=next_cursor)


JobId = Annotated[int, Field(ge=1, le=2**63 - 1)]


@router.get(
    "/{job_id}",
    response={200: ImportJobOut, **COMMON_ERRORS},
    summary="Get an import: status, counts, errors, mapping and tags",
)
def read_import(request: HttpRequest, job_id: JobId) -> ImportJobOut:
    return read(principal(request), job_id)


def read(caller: Caller, job_id: int) -> ImportJobOut:
    caller.require(Permission.VIEW)
    return job_out(ImportJob.objects.get(workspace=caller.workspace, pk=job_id), caller)


@router.get(
    "/{job_id}/errors.csv",
    response={200: None, **COMMON_ERRORS},
    summary="Every rejected row of an import, as CSV",
    description="Needs the `pii` scope: the file quotes the rejected rows (phones, e-mails). "
    "404 when the import rejected no row. Each download is written to the audit log.",
    openapi_extra={
        "responses": {
            200: {
                "description": "CSV: line, column, value excerpt, reason, then the row",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def import_errors(request: HttpRequest, job_id: JobId) -> FileResponse:
    caller = require(request, Permission.VIEW_PII)
    job = ImportJob.objects.get(workspace=caller.workspace, pk=job_id)
    path = jobs.error_report_path(job)
    if not job.error_count or not path.is_file():
        raise ApiError(404, _("This import has no error report."))
    record_audit(
        caller.workspace,
        AuditAction.EXPORTED,
        label=caller.label,
        target=f"{job.file_name} errors",
        details={"job": job.pk, "rows": job.error_count},
    )
    name = f"{job.file_name.rsplit('.', 1)[0]}-errors.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv")
