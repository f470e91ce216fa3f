"""Named functions for segments: validate, save, evaluate, count and preview.

Evaluation entry points (used by campaigns at send time and by the UI):

* ``contacts_matching(workspace, definition, *, now=None) -> QuerySet[Contact]``
* ``count_segment(workspace, definition, *, now=None) -> SegmentCount``
* ``preview_segment(workspace, definition, *, viewer, now=None, limit=20, offset=0)``

`definition` may be a saved Segment, a parsed SegmentDefinition or raw JSON (dict / str).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.compiler import compile_definition
from otodoke.segments.models import Segment
from otodoke.segments.schema import (
    SCHEMA_VERSION,
    DefinitionError,
    InSegment,
    Problem,
    SegmentDefinition,
    iter_conditions,
    parse_definition,
)
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import can, record_audit, require

AnyUser = User | AnonymousUser
DefinitionInput = Segment | SegmentDefinition | Mapping[str, Any] | str | bytes

# Who a LINE message may reach now: the same rule as ContactQuerySet.reachable().
REACHABLE = Q(line_status=LineStatus.FOLLOWING, marketing_consent=True, line_user_id__isnull=False)


def validate_definition(
    workspace: Workspace, data: Any, *, segment_id: int | None = None
) -> SegmentDefinition:
    """Schema check plus what the schema cannot know: referenced segments, audiences, links and
    campaigns exist in this workspace, and segment references form no cycle. Raises
    DefinitionError."""
    definition = parse_definition(data)
    # Compiling checks every reference (recursively, with paths) and reports cycles; the Q
    # itself is thrown away.
    compile_definition(workspace, definition, segment_id=segment_id)
    return definition


@transaction.atomic
def save_segment(
    workspace: Workspace,
    *,
    name: str,
    definition: Any,
    actor: AnyUser | None,
    segment: Segment | None = None,
    description: str = "",
) -> Segment:
    """Create or update a segment. An invalid definition raises DefinitionError and nothing is
    written. `actor` None means a trusted internal caller (tests, the demo); a user needs the
    edit permission."""
    if actor is not None:
        require(actor, workspace, Permission.EDIT)
    if segment is not None and segment.workspace_id != workspace.pk:
        raise ValueError("segment belongs to another workspace")
    parsed = validate_definition(workspace, definition, segment_id=segment.pk if segment else None)
    target = segment or Segment(workspace=workspace)
    target.name = name
    target.description = description
    target.definition = parsed.model_dump(mode="json", exclude_none=True)
    target.schema_version = SCHEMA_VERSION
    if segment is None and actor is not None and isinstance(actor, User):
        target.created_by = actor
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError as exc:
        raise DefinitionError(
            [Problem("$.name", _("A segment with this name already exists"))]
        ) from exc
    return target


# Campaigns that have not gone out yet read their segments when the send starts; finished ones
# froze their recipients, so a segment they named may go (their page shows it as "#id").
_UNFINISHED_CAMPAIGNS = (
    CampaignStatus.DRAFT,
    CampaignStatus.SCHEDULED,
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
)


@dataclass(frozen=True)
class SegmentReferences:
    """What would break if a segment were deleted."""

    segments: list[Segment]
    campaigns: list[Campaign]

    def __bool__(self) -> bool:
        return bool(self.segments or self.campaigns)


class SegmentInUseError(Exception):
    def __init__(self, segment: Segment, references: SegmentReferences) -> None:
        super().__init__(f"segment {segment.pk} is in use")
        self.segment = segment
        self.references = references


def _names_segment(definition: Any, segment_id: int) -> bool:
    try:
        where = parse_definition(definition).where
    except DefinitionError:
        return False
    return any(
        isinstance(c, InSegment) and c.segment_id == segment_id for c in iter_conditions(where)
    )


def segment_references(segment: Segment) -> SegmentReferences:
    """Other segments whose definition includes this one, and unfinished campaigns whose target
    names it (directly, or through an in_segment condition of an unsaved definition)."""
    others = Segment.objects.filter(workspace_id=segment.workspace_id).exclude(pk=segment.pk)
    users = [other for other in others if _names_segment(other.definition, segment.pk)]
    campaigns = []
    for campaign in Campaign.objects.filter(
        workspace_id=segment.workspace_id, status__in=_UNFINISHED_CAMPAIGNS
    ).order_by("pk"):
        target = campaign.target if isinstance(campaign.target, dict) else {}
        parts = [*target.get("include", []), *target.get("exclude", [])]
        if any(
            isinstance(part, dict)
            and (
                str(part.get("segment")) == str(segment.pk)
                or ("definition" in part and _names_segment(part["definition"], segment.pk))
            )
            for part in parts
        ):
            campaigns.append(campaign)
    return SegmentReferences(segments=users, campaigns=campaigns)


@transaction.atomic
def delete_segment(
    workspace: Workspace,
    segment: Segment,
    *,
    actor: AnyUser | None,
    actor_label: str | None = None,
) -> None:
    """Delete a segment nothing depends on, and write it to the audit log (with its definition,
    so it can be recreated). Raises SegmentInUseError naming what still uses it; then nothing
    changes.

    `actor` None is a trusted caller that checked the permission itself (an API token, the CLI);
    `actor_label` names it in the audit log."""
    if actor is not None:
        require(actor, workspace, Permission.EDIT)
    if segment.workspace_id != workspace.pk:
        raise ValueError("segment belongs to another workspace")
    # Locking the row makes two deletions of the same segment audit once, and keeps the
    # reference check and the delete one step for anyone who also locks it.
    locked = Segment.objects.select_for_update().filter(pk=segment.pk).first()
    if locked is None:
        raise Segment.DoesNotExist
    references = segment_references(locked)
    if references:
        raise SegmentInUseError(locked, references)
    record_audit(
        workspace,
        AuditAction.SEGMENT_DELETED,
        actor=actor,
        label=actor_label,
        target=f"segment:{locked.pk} {locked.name}",
        details={"segment_id": locked.pk, "name": locked.name, "definition": locked.definition},
    )
    locked.delete()


def resolve_definition(workspace: Workspace, definition: DefinitionInput) -> SegmentDefinition:
    if isinstance(definition, Segment):
        if definition.workspace_id != workspace.pk:
            raise ValueError("segment belongs to another workspace")
        return parse_definition(definition.definition)
    return parse_definition(definition)


def contacts_matching(
    workspace: Workspace, definition: DefinitionInput, *, now: dt.datetime | None = None
) -> QuerySet[Contact]:
    """The workspace's contacts matching the definition, as one lazy SQL query."""
    segment_id = definition.pk if isinstance(definition, Segment) else None
    parsed = resolve_definition(workspace, definition)
    condition = compile_definition(workspace, parsed, now=now, segment_id=segment_id)
    return Contact.objects.filter(workspace=workspace).filter(condition)


@dataclass(frozen=True)
class SegmentCount:
    total: int
    # Following friends with a LINE user ID who consent: who a LINE send would reach now.
    reachable: int


def count_segment(
    workspace: Workspace, definition: DefinitionInput, *, now: dt.datetime | None = None
) -> SegmentCount:
    """Both numbers in one query (a conditional aggregate)."""
    row = contacts_matching(workspace, definition, now=now).aggregate(
        total=Count("pk"), reachable=Count("pk", filter=REACHABLE)
    )
    return SegmentCount(total=row["total"] or 0, reachable=row["reachable"] or 0)


# --- preview and masking ------------------------------------------------------------------


def mask_line_user_id(value: str | None) -> str | None:
    return None if not value else value[:3] + "…" + value[-2:]


def mask_email(value: str) -> str:
    if not value:
        return ""
    local, _sep, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(value: str) -> str:
    return "" if not value else "*" * max(len(value) - 4, 0) + value[-4:]


@dataclass(frozen=True)
class ContactRow:
    id: int
    external_id: str | None
    name: str
    gender: str
    birth_date: dt.date | None
    prefecture: str
    line_status: str
    line_user_id: str | None
    email: str
    phone: str
    last_visit_at: dt.datetime | None
    visit_count: int
    total_spent: int
    reachable: bool

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("birth_date", "last_visit_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class SegmentPreview:
    count: SegmentCount
    rows: list[ContactRow]
    pii_visible: bool


def preview_segment(
    workspace: Workspace,
    definition: DefinitionInput,
    *,
    viewer: AnyUser | None,
    now: dt.datetime | None = None,
    limit: int = 20,
    offset: int = 0,
    show_pii: bool | None = None,
) -> SegmentPreview:
    """Count plus one page of contacts. LINE user IDs, e-mails and phones are masked unless
    `viewer` has VIEW_PII; `viewer=None` (no one) always gets masked values.

    `show_pii` is for callers that are not staff users and checked VIEW_PII themselves (an API
    token's `pii` scope): when given, it decides instead of `viewer`."""
    if show_pii is None:
        show_pii = viewer is not None and can(viewer, workspace, Permission.VIEW_PII)
    count = count_segment(workspace, definition, now=now)
    page = contacts_matching(workspace, definition, now=now).order_by("pk")[
        offset : offset + max(0, min(limit, 500))
    ]
    rows = []
    for c in page:
        reachable = (
            c.line_status == LineStatus.FOLLOWING
            and c.marketing_consent
            and c.line_user_id is not None
        )
        rows.append(
            ContactRow(
                id=c.pk,
                external_id=c.external_id,
                name=c.name or c.line_display_name,
                gender=c.gender,
                birth_date=c.birth_date,
                prefecture=c.prefecture,
                line_status=c.line_status,
                line_user_id=c.line_user_id if show_pii else mask_line_user_id(c.line_user_id),
                email=c.email if show_pii else mask_email(c.email),
                phone=c.phone if show_pii else mask_phone(c.phone),
                last_visit_at=c.last_visit_at,
                visit_count=c.visit_count,
                total_spent=c.total_spent,
                reachable=reachable,
            )
        )
    return SegmentPreview(count=count, rows=rows, pii_visible=show_pii)
