"""Read-only figures for the dashboard. Friend growth is derived from each contact's latest
follow and block times (`otodoke.contacts`): a contact who followed, blocked and followed again
counts once for each of the latest two, which is what a shop owner wants to see per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from otodoke.contacts.models import Contact
from otodoke.web.charts import DayPoint
from otodoke.workspaces.models import Workspace


@dataclass(frozen=True)
class FriendCounts:
    following: int
    blocked: int
    contacts: int
    reachable: int


def friend_counts(workspace: Workspace) -> FriendCounts:
    contacts = Contact.objects.in_workspace(workspace)
    return FriendCounts(
        following=contacts.following().count(),
        blocked=contacts.blocked().count(),
        contacts=contacts.count(),
        reachable=contacts.reachable().count(),
    )


def _per_day(workspace: Workspace, field: str, start: datetime) -> dict[date, int]:
    rows = (
        Contact.objects.in_workspace(workspace)
        .filter(**{f"{field}__gte": start})
        .annotate(day=TruncDate(field, tzinfo=workspace.tzinfo))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return dict(rows)


def friend_series(
    workspace: Workspace, *, days: int = 30, today: date | None = None
) -> list[DayPoint]:
    """Follows and blocks per day over the last `days` days (workspace time zone)."""
    tz = workspace.tzinfo
    today = today or timezone.localdate(timezone=tz)
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(), tz)
    follows = _per_day(workspace, "line_followed_at", start)
    blocks = _per_day(workspace, "line_unfollowed_at", start)
    return [
        DayPoint(day, follows.get(day, 0), blocks.get(day, 0))
        for day in (first + timedelta(days=i) for i in range(days))
    ]


def recent_campaigns(workspace: Workspace, *, limit: int = 5) -> list[Any] | None:
    """The latest campaigns once the campaigns app exists; None hides the panel until then."""
    if not apps.is_installed("otodoke.campaigns"):
        return None
    campaign_model = apps.get_model("campaigns", "Campaign")
    queryset = campaign_model.objects.filter(workspace=workspace).order_by("-created_at")
    return list(queryset[:limit])
