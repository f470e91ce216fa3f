"""A sent campaign's results for its page: outcomes with reasons, and clicks per tracked link
over time as a server-rendered SVG (like the dashboard's chart: Python does the geometry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from otodoke.campaigns.models import (
    Delivery,
    DeliveryRecipient,
    ExclusionReason,
    RecipientStatus,
)
from otodoke.tracking.models import Click, TrackedLink

# Enough colours to tell a campaign's links apart; more links reuse them (the table names all).
COLOURS = ["#06c755", "#0b6bcb", "#d97706", "#9333ea", "#dc2626"]
HOURLY_UNTIL = timedelta(hours=48)


@dataclass(frozen=True)
class Outcome:
    status: str
    status_label: str
    reason: str
    count: int


def outcomes(delivery: Delivery) -> list[Outcome]:
    """Recipients per status and reason (excluded: why; failed: what LINE or the renderer said)."""
    rows = (
        DeliveryRecipient.objects.filter(delivery=delivery)
        .exclude(status=RecipientStatus.PENDING)
        .values("status", "reason")
        .annotate(n=Count("id"))
        .order_by("status", "-n")
    )
    labels = dict(RecipientStatus.choices)
    reasons = dict(ExclusionReason.choices)
    return [
        Outcome(
            r["status"],
            str(labels.get(r["status"], r["status"])),
            str(reasons.get(r["reason"], r["reason"])),
            r["n"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class LinkLine:
    link: TrackedLink
    colour: str
    clicks: int
    clickers: int
    points: str  # SVG polyline points


@dataclass(frozen=True)
class ClickChart:
    width: int
    height: int
    peak: int
    hourly: bool
    start: datetime
    end: datetime
    lines: list[LinkLine]

    @property
    def total(self) -> int:
        return sum(line.clicks for line in self.lines)


def live_links(delivery: Delivery) -> list[TrackedLink]:
    """The links of the live send. Test sends create their own links for the same campaign
    earlier; leaving them out keeps staff's test taps out of the results."""
    return list(
        TrackedLink.objects.filter(
            campaign_id=delivery.campaign_id, created_at__gte=delivery.created_at
        ).order_by("pk")
    )


def click_chart(
    delivery: Delivery,
    *,
    now: datetime | None = None,
    width: int = 600,
    height: int = 160,
) -> ClickChart:
    """Clicks per link per hour for the first two days after the send, per day after that."""
    now = now or timezone.now()
    start = delivery.started_at or delivery.created_at
    hourly = now - start <= HOURLY_UNTIL
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    slots = max(int((now - start) / step) + 1, 2)
    links = live_links(delivery)
    clicks = Click.objects.filter(link__in=links, clicked_at__gte=start).values_list(
        "link_id", "clicked_at", "contact_id"
    )
    counts: dict[int, list[int]] = {link.pk: [0] * slots for link in links}
    totals: dict[int, int] = dict.fromkeys(counts, 0)
    people: dict[int, set[int]] = {link.pk: set() for link in links}
    for link_id, clicked_at, contact_id in clicks:
        slot = min(int((clicked_at - start) / step), slots - 1)
        counts[link_id][slot] += 1
        totals[link_id] += 1
        if contact_id is not None:
            people[link_id].add(contact_id)
    peak = max([1, *(max(series) for series in counts.values())])
    x_step = width / (slots - 1)
    scale = (height - 8) / peak
    lines = []
    for index, link in enumerate(links):
        points = " ".join(
            f"{round(i * x_step, 1)},{round(height - 4 - n * scale, 1)}"
            for i, n in enumerate(counts[link.pk])
        )
        lines.append(
            LinkLine(
                link, COLOURS[index % len(COLOURS)], totals[link.pk], len(people[link.pk]), points
            )
        )
    return ClickChart(width, height, peak, hourly, start, now, lines)
