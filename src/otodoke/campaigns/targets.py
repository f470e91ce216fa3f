"""Who a campaign is for: include/exclude parts resolved to contact querysets at send time."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from otodoke.workspaces.models import Workspace

PART_KINDS = ("segment", "audience", "definition", "contacts")


def _part_query(workspace: Workspace, part: dict[str, Any]) -> Q:
    """One include/exclude part as a condition on Contact (a subquery, evaluated by the DB)."""
    if "contacts" in part:
        return Q(pk__in=[int(pk) for pk in part["contacts"]])
    if "definition" in part:
        from otodoke.segments.services import contacts_matching

        return Q(pk__in=contacts_matching(workspace, part["definition"]).values("pk"))
    if "segment" in part:
        from otodoke.segments.models import Segment
        from otodoke.segments.services import contacts_matching

        segment = Segment.objects.get(workspace=workspace, pk=int(part["segment"]))
        return Q(pk__in=contacts_matching(workspace, segment).values("pk"))
    if "audience" in part:
        from otodoke.segments.models import AudienceMember

        members = AudienceMember.objects.filter(
            audience__workspace=workspace, audience_id=int(part["audience"])
        )
        return Q(pk__in=members.values("contact_id"))
    raise ValidationError(_("Unknown target part %(part)s") % {"part": part})


def check_target(target: dict[str, Any]) -> None:
    if not isinstance(target, dict):
        raise ValidationError(_("The target must be a JSON object"))
    parts = [*target.get("include", []), *target.get("exclude", [])]
    for part in parts:
        if not isinstance(part, dict) or len(part) != 1 or next(iter(part)) not in PART_KINDS:
            raise ValidationError(
                _("Each target part is one of %(kinds)s") % {"kinds": ", ".join(PART_KINDS)}
            )
    if not target.get("all_friends") and not target.get("include"):
        raise ValidationError(_("Choose all friends or at least one segment or audience"))


def is_all_friends(target: dict[str, Any]) -> bool:
    return bool(target.get("all_friends")) and not target.get("include")


def target_conditions(workspace: Workspace, target: dict[str, Any]) -> tuple[Q, Q | None]:
    """(who is included, who is excluded or None). "All friends" includes every contact; the
    freeze then keeps only the reachable ones and records why the others were left out."""
    include = Q()
    if not is_all_friends(target):
        include = Q(pk__in=[])
        for part in target.get("include", []):
            include |= _part_query(workspace, part)
    exclude: Q | None = None
    for part in target.get("exclude", []):
        condition = _part_query(workspace, part)
        exclude = condition if exclude is None else exclude | condition
    return include, exclude
