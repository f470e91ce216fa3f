"""Renaming, describing and deleting an audience (its members never change).

An audience is deleted only when nothing still to be sent uses it: an unfinished campaign's
target, or a segment's `in_audience` condition (that segment could then not compile)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from otodoke.campaigns.models import Campaign
from otodoke.segments.models import Audience, Segment
from otodoke.segments.services import _UNFINISHED_CAMPAIGNS


class AudienceInUse(Exception):  # noqa: N818 - a domain outcome callers catch
    pass


def _names_audience(node: Any, audience_id: int) -> bool:
    if isinstance(node, dict):
        if node.get("kind") == "in_audience" and str(node.get("audience_id")) == str(audience_id):
            return True
        return any(_names_audience(v, audience_id) for v in node.values())
    if isinstance(node, list):
        return any(_names_audience(v, audience_id) for v in node)
    return False


def audience_users(audience: Audience) -> list[str]:
    """Names of the unfinished campaigns and the segments that use the audience."""
    users = []
    for campaign in Campaign.objects.filter(
        workspace_id=audience.workspace_id, status__in=_UNFINISHED_CAMPAIGNS
    ).order_by("pk"):
        target = campaign.target if isinstance(campaign.target, dict) else {}
        parts = [*target.get("include", []), *target.get("exclude", [])]
        if any(
            isinstance(p, dict)
            and (
                str(p.get("audience")) == str(audience.pk)
                or _names_audience(p.get("definition"), audience.pk)
            )
            for p in parts
        ):
            users.append(_("the campaign “%(name)s”") % {"name": campaign.name})
    for segment in Segment.objects.filter(workspace_id=audience.workspace_id).order_by("name"):
        if _names_audience(segment.definition, audience.pk):
            users.append(_("the segment “%(name)s”") % {"name": segment.name})
    return users


def rename_audience(audience: Audience, *, name: str, description: str) -> None:
    audience.name = name
    audience.description = description
    audience.save(update_fields=["name", "description"])


@transaction.atomic
def delete_audience(audience: Audience) -> None:
    locked = Audience.objects.select_for_update().get(pk=audience.pk)
    users = audience_users(locked)
    if users:
        raise AudienceInUse(
            _("“%(name)s” is used by %(users)s; remove it there first.")
            % {"name": locked.name, "users": "、".join(users)}
        )
    locked.delete()
