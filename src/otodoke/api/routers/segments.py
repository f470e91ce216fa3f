"""Segments: CRUD, count and preview, all through `otodoke.segments.services`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field, StringConstraints

from otodoke.api.auth import Caller, principal, require
from otodoke.api.errors import COMMON_ERRORS, ApiError, ErrorOut
from otodoke.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page
from otodoke.segments.models import Segment
from otodoke.segments.schema import DefinitionError, Problem
from otodoke.segments.services import (
    SegmentInUseError,
    count_segment,
    delete_segment,
    preview_segment,
    save_segment,
    validate_definition,
)
from otodoke.workspaces.roles import Permission

router = Router()

SegmentName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Cursor = Annotated[str, StringConstraints(max_length=200)]
# The definition is checked by the segments schema (docs/segments.md), not here, so its rules
# and error paths stay in one place; the API only says it is a JSON object.
Definition = Annotated[
    dict[str, Any],
    Field(
        description='a segment definition, version 1: {"version": 1, "where": {...}} '
        "(see docs/segments.md and `otodoke segment schema`)",
        examples=[{"version": 1, "where": {"kind": "gender", "values": ["female"]}}],
    ),
]
PREVIEW_MAX = 100


class SegmentIn(Schema):
    name: SegmentName
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    definition: Definition


class DefinitionIn(Schema):
    definition: Definition


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    definition: dict[str, Any]
    schema_version: int
    created_at: datetime
    updated_at: datetime


class SegmentPage(Schema):
    items: list[SegmentOut]
    next_cursor: str | None


class CountOut(Schema):
    total: int
    reachable: int = Field(description="following friends with a LINE ID who consent")


class PreviewRow(Schema):
    id: int
    external_id: str | None
    name: str
    gender: str
    birth_date: date | None
    prefecture: str
    line_status: str
    # Masked (U12…ab, y***@example.jp, *******5678) unless the token has the `pii` scope.
    line_user_id: str | None
    email: str
    phone: str
    last_visit_at: datetime | None
    visit_count: int
    total_spent: int
    reachable: bool


class PreviewOut(Schema):
    count: CountOut
    pii_visible: bool
    items: list[PreviewRow]


class PageParams(Schema):
    cursor: Cursor | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class PreviewParams(Schema):
    limit: int = Field(default=20, ge=1, le=PREVIEW_MAX)
    offset: int = Field(default=0, ge=0, le=100_000)


def definition_error(exc: DefinitionError, prefix: str = "definition") -> ApiError:
    """The schema's JSON paths ($.where.conditions[1].min) as API paths into the request body
    (definition.where.conditions[1].min)."""
    return ApiError(
        422,
        _("The segment definition is not valid"),
        code="invalid_definition",
        details=[(definition_path(p, prefix), p.message) for p in exc.problems],
    )


def definition_path(problem: Problem, prefix: str) -> str:
    rest = problem.path.removeprefix("$")
    return prefix + rest if rest.startswith((".", "[")) or not rest else f"{prefix}.{rest}"


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        id=segment.pk,
        name=segment.name,
        description=segment.description,
        definition=segment.definition,
        schema_version=segment.schema_version,
        created_at=segment.created_at,
        updated_at=segment.updated_at,
    )


def get_segment(caller: Caller, segment_id: int) -> Segment:
    return Segment.objects.get(workspace=caller.workspace, pk=segment_id)


def _save(caller: Caller, payload: SegmentIn, segment: Segment | None) -> Segment:
    # Validated first on its own so definition problems get definition.* paths; what
    # save_segment still refuses after that is the name.
    try:
        validate_definition(
            caller.workspace, payload.definition, segment_id=segment.pk if segment else None
        )
    except DefinitionError as exc:
        raise definition_error(exc) from exc
    try:
        return save_segment(
            caller.workspace,
            name=payload.name,
            description=payload.description,
            definition=payload.definition,
            actor=None,  # the token's write scope was checked by the caller
            segment=segment,
        )
    except DefinitionError as exc:
        raise ApiError(
            409,
            _("A segment with this name already exists"),
            code="duplicate_name",
            details=[("name", p.message) for p in exc.problems],
        ) from exc


_WITH_CONFLICT = {**COMMON_ERRORS, 409: ErrorOut}


@router.get("", response={200: SegmentPage, **COMMON_ERRORS}, summary="List segments")
def list_segments(request: HttpRequest, params: Query[PageParams]) -> SegmentPage:
    return segment_page(principal(request), params)


def segment_page(caller: Caller, params: PageParams) -> SegmentPage:
    caller.require(Permission.VIEW)
    rows, next_cursor = page(
        Segment.objects.filter(workspace=caller.workspace), cursor=params.cursor, limit=params.limit
    )
    return SegmentPage(items=[segment_out(s) for s in rows], next_cursor=next_cursor)


@router.post(
    "",
    response={201: SegmentOut, **_WITH_CONFLICT},
    summary="Create a segment",
    description="The definition is validated against the segment schema; each problem is "
    "reported with its path, e.g. `definition.where.conditions[1].max`.",
)
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[SegmentOut]:
    return Status(201, create(principal(request), payload))


def create(caller: Caller, payload: SegmentIn) -> SegmentOut:
    caller.require(Permission.EDIT)
    return segment_out(_save(caller, payload, None))


@router.post(
    "/count",
    response={200: CountOut, **COMMON_ERRORS},
    summary="Count an unsaved definition",
    description="Try a definition before saving it: who matches and who LINE would reach now.",
)
def count_definition(request: HttpRequest, payload: DefinitionIn) -> CountOut:
    caller = require(request, Permission.VIEW)
    try:
        parsed = validate_definition(caller.workspace, payload.definition)
    except DefinitionError as exc:
        raise definition_error(exc) from exc
    counted = count_segment(caller.workspace, parsed)
    return CountOut(total=counted.total, reachable=counted.reachable)


@router.get("/{segment_id}", response={200: SegmentOut, **COMMON_ERRORS}, summary="Get a segment")
def read_segment(request: HttpRequest, segment_id: int) -> SegmentOut:
    return read(principal(request), segment_id)


def read(caller: Caller, segment_id: int) -> SegmentOut:
    caller.require(Permission.VIEW)
    return segment_out(get_segment(caller, segment_id))


@router.put(
    "/{segment_id}", response={200: SegmentOut, **_WITH_CONFLICT}, summary="Replace a segment"
)
def update_segment(request: HttpRequest, segment_id: int, payload: SegmentIn) -> SegmentOut:
    return replace(principal(request), segment_id, payload)


def replace(caller: Caller, segment_id: int, payload: SegmentIn) -> SegmentOut:
    caller.require(Permission.EDIT)
    return segment_out(_save(caller, payload, get_segment(caller, segment_id)))


@router.delete(
    "/{segment_id}",
    response={204: None, **_WITH_CONFLICT},
    summary="Delete a segment",
    description="Refused with 409 `segment_in_use` while another segment includes it or a "
    "campaign that has not gone out yet (draft, scheduled, sending, paused) targets it; "
    "`details` names each one (`segments[i]` / `campaigns[i]`). Deletions are written to the "
    "workspace's audit log under the token's name, with the definition.",
)
def remove_segment(request: HttpRequest, segment_id: int) -> Status[None]:
    delete(principal(request), segment_id)
    return Status(204, None)


def delete(caller: Caller, segment_id: int) -> None:
    caller.require(Permission.EDIT)
    segment = get_segment(caller, segment_id)
    try:
        delete_segment(caller.workspace, segment, actor=None, actor_label=caller.label)
    except SegmentInUseError as exc:
        raise in_use_error(exc) from exc


def in_use_error(exc: SegmentInUseError) -> ApiError:
    refs = exc.references
    return ApiError(
        409,
        _("The segment is still used; remove it there first"),
        code="segment_in_use",
        details=[
            (f"segments[{i}]", _("segment %(id)s “%(name)s”") % {"id": s.pk, "name": s.name})
            for i, s in enumerate(refs.segments)
        ]
        + [
            (
                f"campaigns[{i}]",
                _("campaign %(id)s “%(name)s” (%(status)s)")
                % {"id": c.pk, "name": c.name, "status": c.status},
            )
            for i, c in enumerate(refs.campaigns)
        ],
    )


@router.get(
    "/{segment_id}/count",
    response={200: CountOut, **COMMON_ERRORS},
    summary="Count a segment's contacts now",
)
def count_saved_segment(request: HttpRequest, segment_id: int) -> CountOut:
    caller = require(request, Permission.VIEW)
    segment = get_segment(caller, segment_id)
    try:
        counted = count_segment(caller.workspace, segment)
    except DefinitionError as exc:  # e.g. an audience it names was deleted since
        raise definition_error(exc) from exc
    return CountOut(total=counted.total, reachable=counted.reachable)


@router.get(
    "/{segment_id}/preview",
    response={200: PreviewOut, **COMMON_ERRORS},
    summary="A sample page of a segment's contacts",
    description="LINE user IDs, e-mail addresses and phone numbers are masked unless the "
    "token has the `pii` scope.",
)
def preview_saved_segment(
    request: HttpRequest, segment_id: int, params: Query[PreviewParams]
) -> PreviewOut:
    caller = require(request, Permission.VIEW)
    segment = get_segment(caller, segment_id)
    try:
        preview = preview_segment(
            caller.workspace,
            segment,
            viewer=None,
            show_pii=caller.sees_pii,
            limit=params.limit,
            offset=params.offset,
        )
    except DefinitionError as exc:
        raise definition_error(exc) from exc
    return PreviewOut(
        count=CountOut(total=preview.count.total, reachable=preview.count.reachable),
        pii_visible=preview.pii_visible,
        items=[PreviewRow(**asdict(row)) for row in preview.rows],
    )
