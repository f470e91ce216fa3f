"""The dashboard: friend counts and growth from contacts, the month's quota from LINE."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.test import Client
from django.utils import timezone

from line_emulator.config import ChannelConfig, EmulatorConfig
from line_emulator.testing import running_emulator
from otodoke.contacts.models import Contact, LineStatus
from otodoke.web.charts import friend_chart, gauge
from otodoke.web.dashboard import friend_counts, friend_series
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def add_friend(workspace: Workspace, n: int, *, status: str, at: datetime) -> Contact:
    return Contact.objects.create(
        workspace=workspace,
        line_user_id=f"U{n:032x}",
        line_status=status,
        line_followed_at=at,
        line_unfollowed_at=at if status == LineStatus.BLOCKED else None,
    )


def test_friend_counts_and_daily_follows_and_blocks(workspace: Workspace) -> None:
    now = timezone.now()
    for n in range(3):
        add_friend(workspace, n, status=LineStatus.FOLLOWING, at=now)
    add_friend(workspace, 9, status=LineStatus.BLOCKED, at=now - timedelta(days=2))
    add_friend(workspace, 10, status=LineStatus.FOLLOWING, at=now - timedelta(days=90))

    counts = friend_counts(workspace)
    assert (counts.following, counts.blocked) == (4, 1)
    series = friend_series(workspace, days=30)
    assert len(series) == 30
    assert series[-1].follows == 3
    assert series[-3].blocks == 1
    assert sum(p.follows for p in series) == 4  # the 90-day-old follow is outside the window


def test_chart_scales_the_busiest_day_to_the_frame(workspace: Workspace) -> None:
    chart = friend_chart(friend_series(workspace, days=7))
    assert len(chart.bars) == 7
    assert all(bar.follow_height == 0 for bar in chart.bars)
    assert gauge(85).level == "warn"
    assert gauge(140).percent == 100


def test_dashboard_renders_counts(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    add_friend(workspace, 1, status=LineStatus.FOLLOWING, at=timezone.now())
    page = client_as(Role.VIEWER).get("/w/salon/").content.decode()
    assert "友だち" in page
    assert 'hx-get="/w/salon/dashboard/quota/"' in page


def test_quota_panel_degrades_when_line_is_unreachable(
    client_as: Callable[[Role], Client],
) -> None:
    body = client_as(Role.VIEWER).get("/w/salon/dashboard/quota/", HTTP_HX_REQUEST="true")
    assert 'data-testid="quota-unknown"' in body.content.decode()


def test_quota_gauge_shows_line_figures(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    channel = ChannelConfig(
        channel_id=workspace.channel_id,
        access_token=workspace.channel_access_token.reveal(),
        channel_secret=workspace.channel_secret.reveal(),
        quota_type="limited",
        quota_value=5000,
    )
    with running_emulator(EmulatorConfig(channels=[channel])) as url:
        workspace.api_base_url = url
        workspace.save()
        body = client_as(Role.VIEWER).get("/w/salon/dashboard/quota/", HTTP_HX_REQUEST="true")
    html = body.content.decode()
    assert "5,000" in html
    assert 'class="gauge ok"' in html
