"""Read-only figures for the dashboard. Friend growth is derived from each contact's latest
follow and block times (`otodoke.contacts`): a contact who followed, blocked and followed again
counts once for each of the latest two, which is what a shop owner wants to see per day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from otodoke.campaigns.models import Campaign, Delivery, DeliveryKind
from otodoke.campaigns.quota import QuotaState
from otodoke.contacts import counts
from otodoke.contacts.counts import FriendCounts
from otodoke.contacts.models import Contact
from otodoke.tracking.models import Click
from otodoke.web.charts import DayPoint
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.plans import PLAN_TERMS, Plan, month_allowance


@dataclass(frozen=True)
class MonthUse:
    """This month's messages as the dashboard shows them: LINE's count of what was sent, and
    the limit that really binds (`plans.month_allowance`): LINE's cap, or the plan's free
    messages when the plan cannot send paid ones and that is smaller, so a コミュニケーション
    プラン never reads 「上限なし」."""

    used: int
    limit: int | None
    remaining: int | None
    # "line" | "plan" | "" (no cap), as in MonthAllowance.
    source: str
    limit_unknown: bool

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.used / self.limit)) if self.limit else 0


def month_use(workspace: Workspace, quota: QuotaState) -> MonthUse:
    allowance = month_allowance(workspace.plan, used=quota.used, line_remaining=quota.remaining)
    limit = quota.limit
    if allowance.source == "plan":
        limit = PLAN_TERMS[Plan(workspace.plan)].free_messages
    return MonthUse(
        used=quota.used,
        limit=limit,
        remaining=allowance.remaining,
        source=allowance.source,
        limit_unknown=quota.limit_unknown and allowance.source != "plan",
    )


def friend_counts(workspace: Workspace) -> FriendCounts:
    """The counts of `otodoke.contacts.counts`: the demo banner prints the same ones."""
    return counts.friend_counts(workspace)


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


@dataclass(frozen=True)
class RecentCampaign:
    campaign: Campaign
    # The live send (None for drafts and scheduled campaigns): its sent/failed/excluded counts.
    delivery: Delivery | None
    # Contacts who clicked a link of the live send at least once (anonymous clicks left out).
    clickers: int


def recent_campaigns(workspace: Workspace, *, limit: int = 5) -> list[RecentCampaign]:
    """The latest campaigns with their results, in two queries: the campaigns, then their live
    deliveries with the unique clickers counted by a subquery. Only links created for the live
    send count, like the campaign page (staff's taps on a test send are not results)."""
    campaigns = list(
        Campaign.objects.filter(workspace=workspace).order_by("-created_at", "-id")[:limit]
    )
    clickers = (
        Click.objects.filter(
            link__workspace=workspace,
            link__campaign_id=OuterRef("campaign_id"),
            link__created_at__gte=OuterRef("created_at"),
            contact__isnull=False,
        )
        .order_by()
        .values("link__campaign_id")
        .annotate(n=Count("contact_id", distinct=True))
        .values("n")[:1]
    )
    deliveries = {
        d.campaign_id: d
        for d in Delivery.objects.filter(campaign__in=campaigns, kind=DeliveryKind.LIVE).annotate(
            clickers=Coalesce(Subquery(clickers), 0)
        )
    }
    rows = []
    for campaign in campaigns:
        delivery = deliveries.get(campaign.pk)
        count = delivery.clickers if delivery is not None else 0
        rows.append(RecentCampaign(campaign, delivery, count))
    return rows
