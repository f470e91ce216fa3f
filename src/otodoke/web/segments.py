"""What the segment pages show: evaluation of the builder's state (count, reachable count,
summary, problems), the choices its menus offer, and preview cards. All evaluation goes through
otodoke.segments.services; this module only arranges the results for templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from otodoke.campaigns.models import Campaign
from otodoke.contacts.japan import PREFECTURES
from otodoke.contacts.models import Contact, EventKind, Gender
from otodoke.segments.models import Audience, Segment
from otodoke.segments.schema import (
    DefinitionError,
    Problem,
)
from otodoke.segments.services import (
    SegmentCount,
    contacts_matching,
    count_segment,
    validate_definition,
)
from otodoke.segments.summary import summarize
from otodoke.tracking.models import TrackedLink
from otodoke.web.contacts import ContactCard, contact_card, tag_names
from otodoke.workspaces.models import Workspace

PREVIEW_SIZE = 20


@dataclass
class Evaluation:
    problems: list[Problem] = field(default_factory=list)
    count: SegmentCount | None = None
    summary: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems


def names(workspace: Workspace) -> tuple[dict[int, str], dict[int, str]]:
    segments = dict(Segment.objects.filter(workspace=workspace).values_list("pk", "name"))
    audiences = dict(Audience.objects.filter(workspace=workspace).values_list("pk", "name"))
    return segments, audiences


def summary_of(definition: Any, workspace: Workspace) -> str:
    segments, audiences = names(workspace)
    try:
        return summarize(definition, segment_names=segments, audience_names=audiences)
    except DefinitionError:
        return str(_("(this definition no longer reads; open it to fix it)"))


def evaluate(
    workspace: Workspace, state: Any, *, segment_id: int | None = None, count: bool = True
) -> Evaluation:
    """Validate (schema, references, cycles), then count both numbers in one query."""
    try:
        parsed = validate_definition(workspace, state, segment_id=segment_id)
    except DefinitionError as exc:
        return Evaluation(problems=exc.problems)
    return Evaluation(
        count=count_segment(workspace, parsed) if count else None,
        summary=summary_of(parsed, workspace),
    )


def preview_cards(
    workspace: Workspace, state: Any, *, show_pii: bool, page: int
) -> tuple[list[ContactCard], bool]:
    """One page of matching contacts as cards (masked unless `show_pii`), and whether more
    follow. The caller has validated `state`."""
    offset = max(page - 1, 0) * PREVIEW_SIZE
    found = list(
        contacts_matching(workspace, state).order_by("pk")[offset : offset + PREVIEW_SIZE + 1]
    )
    cards = [contact_card(c, show_pii=show_pii) for c in found[:PREVIEW_SIZE]]
    return cards, len(found) > PREVIEW_SIZE


def builder_choices(workspace: Workspace, segment: Segment | None) -> dict[str, Any]:
    """The options of the builder's menus. A segment cannot contain itself, so it is left out
    of "in another segment"."""
    segments: QuerySet[Segment] = Segment.objects.filter(workspace=workspace)
    if segment is not None:
        segments = segments.exclude(pk=segment.pk)
    return {
        "genders": Gender.choices,
        "months": list(range(1, 13)),
        "prefectures": PREFECTURES,
        "line_statuses": [
            ("following", _("Following friend")),
            ("blocked", _("Blocked")),
            ("none", _("Not a friend")),
        ],
        "event_kinds": EventKind.choices,
        "filter_ops": [
            ("equals", _("is")),
            ("in", _("is one of (comma-separated)")),
            ("contains", _("contains")),
            ("exists", _("is set")),
            ("gte", _("≥")),
            ("lte", _("≤")),
        ],
        "tag_names": tag_names(workspace),
        "segments": list(segments.values_list("pk", "name")),
        "audiences": list(
            Audience.objects.filter(workspace=workspace).values_list("pk", "name", "size")
        ),
        "campaigns": list(
            Campaign.objects.filter(workspace=workspace).values_list("pk", "name")[:200]
        ),
        "links": list(
            TrackedLink.objects.filter(workspace=workspace)
            .order_by("-pk")
            .values_list("pk", "url")[:200]
        ),
    }


def audience_cards(
    audience: Audience, *, show_pii: bool, page: int
) -> tuple[list[ContactCard], bool]:
    offset = max(page - 1, 0) * PREVIEW_SIZE
    found = list(
        Contact.objects.filter(
            workspace_id=audience.workspace_id,
            pk__in=audience.members.values("contact_id"),
        ).order_by("pk")[offset : offset + PREVIEW_SIZE + 1]
    )
    return [contact_card(c, show_pii=show_pii) for c in found[:PREVIEW_SIZE]], len(
        found
    ) > PREVIEW_SIZE
