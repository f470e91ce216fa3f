"""Audiences: create from an uploaded LINE user-ID file, a segment snapshot or a manual pick of
contact IDs; list, get, export for LINE's upload screens. Everything goes through
`otodoke.segments.audiences` / `.exports`."""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field, StringConstraints, model_validator

from otodoke.api.auth import Caller, principal, require
from otodoke.api.errors import COMMON_ERRORS, ApiError, ErrorOut
from otodoke.api.lookups import require_contacts
from otodoke.api.pagination import page
from otodoke.api.routers.segments import Definition, PageParams, definition_error, get_segment
from otodoke.api.schemas import MAX_BULK_ITEMS
from otodoke.segments.audiences import (
    create_audience_from_contacts,
    create_audience_from_file,
    create_audience_from_segment,
)
from otodoke.segments.exports import ExportKind, ExportSource, export_contacts
from otodoke.segments.models import Audience
from otodoke.segments.schema import DefinitionError
from otodoke.segments.services import DefinitionInput, validate_definition
from otodoke.workspaces.roles import Permission

router = Router()

DB_ID = Annotated[int, Field(ge=1, le=2**63 - 1)]
AudienceName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
]
# LINE's own limit is 1,500,000 IDs per file; at 34 bytes a line that is about 51 MB.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


class AudienceOut(Schema):
    id: int
    name: str
    source: Literal["file", "segment", "manual"]
    # Where it came from (segment and definition, or file name and line counts): never PII.
    source_details: dict[str, Any]
    size: int
    created_at: datetime


class AudiencePage(Schema):
    items: list[AudienceOut]
    next_cursor: str | None


class LineProblemOut(Schema):
    line: int
    reason: Literal["invalid", "unknown", "duplicate"]
    message: str


class UploadOut(Schema):
    audience: AudienceOut | None = Field(description="null when strict and the file had problems")
    lines: int
    matched: int
    problems: list[LineProblemOut]


class FromSegmentIn(Schema):
    name: AudienceName
    segment_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    definition: Definition | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FromSegmentIn:
        if (self.segment_id is None) == (self.definition is None):
            raise ValueError(_("Give segment_id or definition, not both"))
        return self


class FromContactsIn(Schema):
    name: AudienceName
    contact_ids: list[DB_ID] = Field(
        min_length=1,
        max_length=MAX_BULK_ITEMS,
        description="Contacts of this workspace; repeats count once. Larger lists: /upload.",
    )


class ExportIn(Schema):
    kind: Literal["line-ids", "emails", "phones"] = Field(
        description="line-ids: LINE Official Account Manager's user-ID upload; emails / "
        "phones: Business Manager audience files"
    )
    hashed: bool = Field(
        default=False, description="SHA-256 of each normalised value (not line-ids)"
    )


def audience_out(audience: Audience) -> AudienceOut:
    return AudienceOut(
        id=audience.pk,
        name=audience.name,
        source=audience.source,  # type: ignore[arg-type]
        source_details=audience.source_details,
        size=audience.size,
        created_at=audience.created_at,
    )


@router.get("", response={200: AudiencePage, **COMMON_ERRORS}, summary="List audiences")
def list_audiences(request: HttpRequest, params: Query[PageParams]) -> AudiencePage:
    return audience_page(principal(request), params)


def audience_page(caller: Caller, params: PageParams) -> AudiencePage:
    caller.require(Permission.VIEW)
    rows, next_cursor = page(
        Audience.objects.filter(workspace=caller.workspace),
        cursor=params.cursor,
        limit=params.limit,
    )
    return AudiencePage(items=[audience_out(a) for a in rows], next_cursor=next_cursor)


@router.post(
    "/upload",
    response={201: UploadOut, **COMMON_ERRORS, 413: ErrorOut},
    summary="Create an audience from a LINE user-ID file",
    description="multipart/form-data with `name` and `file`: one LINE user ID per line "
    "(TXT or one-column CSV, no header; up to 64 MB). Lines that are not user IDs, IDs of no "
    "contact of this workspace and repeats are reported by line number; the others are "
    "frozen into the audience. With `strict=true` any such problem creates nothing and "
    "answers 422 with each problem.",
)
def upload_audience(
    request: HttpRequest,
    name: Form[AudienceName],
    file: File[UploadedFile],
    strict: Form[bool] = False,
) -> Status[UploadOut]:
    caller = require(request, Permission.EDIT)
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        raise ApiError(413, _("The file is larger than 64 MB"), code="too_large")
    report = create_audience_from_file(
        caller.workspace,
        name=name,
        file=file.read(),
        actor=None,  # the token's write scope was checked above
        strict=strict,
        file_name=(file.name or "")[:200],
    )
    if report.audience is None:
        raise ApiError(
            422,
            _("The file has lines that are not this workspace's LINE user IDs"),
            code="file_problems",
            details=[
                ("file", _("line %(line)s: %(message)s") % {"line": p.line, "message": p.message})
                for p in report.problems[:100]
            ],
        )
    return Status(
        201,
        UploadOut(
            audience=audience_out(report.audience),
            lines=report.lines,
            matched=report.matched,
            problems=[LineProblemOut(**p.__dict__) for p in report.problems],
        ),
    )


@router.post(
    "/from-segment",
    response={201: AudienceOut, **COMMON_ERRORS},
    summary="Freeze who matches a segment now",
    description="Give a saved segment's `segment_id` or an unsaved `definition`. Members "
    "never change afterwards, so a campaign to this audience reaches exactly them.",
)
def audience_from_segment(request: HttpRequest, payload: FromSegmentIn) -> Status[AudienceOut]:
    caller = require(request, Permission.EDIT)
    definition: DefinitionInput
    try:
        if payload.segment_id is not None:
            definition = get_segment(caller, payload.segment_id)
        else:
            definition = validate_definition(caller.workspace, payload.definition)
        audience = create_audience_from_segment(
            caller.workspace, name=payload.name, definition=definition, actor=None
        )
    except DefinitionError as exc:
        raise definition_error(exc) from exc
    return Status(201, audience_out(audience))


@router.post(
    "/from-contacts",
    response={201: AudienceOut, **COMMON_ERRORS},
    summary="Freeze a hand-picked list of contacts",
    description="A manual pick of up to 1,000 contacts by ID. Every ID must be a contact of "
    "this workspace: otherwise nothing is created and the answer is 422 with the path of "
    "each unknown ID (`contact_ids[2]`).",
)
def audience_from_contacts(request: HttpRequest, payload: FromContactsIn) -> Status[AudienceOut]:
    caller = require(request, Permission.EDIT)
    require_contacts(caller.workspace, payload.contact_ids)
    audience = create_audience_from_contacts(
        caller.workspace,
        name=payload.name,
        contact_ids=payload.contact_ids,
        actor=None,  # the token's write scope was checked above
    )
    return Status(201, audience_out(audience))


@router.get(
    "/{audience_id}", response={200: AudienceOut, **COMMON_ERRORS}, summary="Get an audience"
)
def read_audience(request: HttpRequest, audience_id: int) -> AudienceOut:
    return read(principal(request), audience_id)


def read(caller: Caller, audience_id: int) -> AudienceOut:
    caller.require(Permission.VIEW)
    return audience_out(Audience.objects.get(workspace=caller.workspace, pk=audience_id))


_FILE_RESPONSE = {
    # An int key, like ninja's own, so this replaces its 200 instead of adding a second one.
    "responses": {
        200: {
            "description": "One file answers text/csv (no header, one value per line); a "
            "list too large for one LINE upload answers a ZIP of its parts. Counts are in "
            "the X-Otodoke-Export header (JSON: rows, files, skipped by reason).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


@router.post(
    "/{audience_id}/export",
    response={200: None, **COMMON_ERRORS},
    summary="Export an audience for LINE's upload screens",
    description="Needs the `export` scope. Contacts without marketing consent, without the "
    "value or whose value LINE cannot take are left out (counted by reason). Every export is "
    "written to the workspace's audit log under the token's name.",
    openapi_extra=_FILE_RESPONSE,
)
def export_audience(request: HttpRequest, audience_id: int, payload: ExportIn) -> FileResponse:
    caller = require(request, Permission.EXPORT)
    audience = Audience.objects.get(workspace=caller.workspace, pk=audience_id)
    kind = ExportKind(payload.kind)
    if kind == ExportKind.LINE_IDS and payload.hashed:
        raise ApiError(
            422,
            _("The request is not valid"),
            details=[("hashed", _("LINE user IDs are uploaded as they are, never hashed"))],
        )
    out_dir = Path(tempfile.mkdtemp(prefix="otodoke-export-"))
    try:
        result = export_contacts(
            caller.workspace,
            kind,
            source=ExportSource(audience=audience),
            actor=None,  # the token's export scope was checked above
            actor_name=caller.label,
            out_dir=out_dir,
            hashed=payload.hashed,
        )
        stem = f"{caller.workspace.slug}-audience-{audience.pk}-{kind}"
        if len(result.files) == 1:
            body, content_type, file_name = result.files[0], "text/csv", f"{stem}.csv"
        else:
            # No rows gives no file at all: an empty ZIP still says so unambiguously.
            body, content_type, file_name = out_dir / "export.zip", "application/zip", f"{stem}.zip"
            with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as archive:
                for part in result.files:
                    archive.write(part, part.name)
        # Opened before the directory is removed: on POSIX the open file stays readable, so
        # nothing is left on disk however the download ends.
        handle = body.open("rb")
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    response = FileResponse(
        handle, as_attachment=True, filename=file_name, content_type=content_type
    )
    response["X-Otodoke-Export"] = json.dumps(
        {"rows": result.rows, "files": len(result.files), "skipped": dict(result.skipped)}
    )
    return response
