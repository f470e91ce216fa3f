"""The dashboard: friend counts and growth from contacts, the month's quota from LINE."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from line_emulator.config import ChannelConfig, EmulatorConfig
from line_emulator.testing import running_emulator
from otodoke.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryKind
from otodoke.contacts.models import Contact, LineStatus
from otodoke.tracking.models import Click, TrackedLink
from otodoke.web.charts import friend_chart, gauge
from otodoke.web.dashboard import friend_counts, friend_series, recent_campaigns
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
    now = timezone.now()
    for n in range(3):
        add_friend(workspace, n, status=LineStatus.FOLLOWING, at=now)
    add_friend(workspace, 7, status=LineStatus.BLOCKED, at=now)
    page = client_as(Role.VIEWER).get("/w/salon/").content.decode()
    assert re.search(r'data-testid="following">.*?<strong>3</strong>', page, re.S)
    assert re.search(r'data-testid="blocked">.*?<strong>1</strong>', page, re.S)
    assert re.search(r'data-testid="contacts">.*?<strong>4</strong>', page, re.S)
    assert 'hx-get="/w/salon/dashboard/quota/"' in page


def _clicks(link: TrackedLink, *contacts: Contact | None) -> None:
    for contact in contacts:
        Click.objects.create(link=link, contact=contact, clicked_at=timezone.now())


def test_recent_campaigns_show_their_results_and_unique_clickers(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    hanako, taro, staff = (
        add_friend(workspace, n, status=LineStatus.FOLLOWING, at=timezone.now()) for n in (1, 2, 3)
    )
    message = [{"type": "text", "text": "春のセールです"}]
    sent = Campaign.objects.create(
        workspace=workspace, name="春のセール", messages=message, status=CampaignStatus.SENT
    )
    # A test send first: staff's taps on its link are not results.
    Delivery.objects.create(campaign=sent, kind=DeliveryKind.TEST, sent=1)
    test_link = TrackedLink.objects.create(
        workspace=workspace, campaign_id=sent.pk, url="https://shop.example.jp/"
    )
    _clicks(test_link, staff)
    started = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)
    live = Delivery.objects.create(
        campaign=sent, sent=120, failed=4, excluded=17, started_at=started
    )
    TrackedLink.objects.filter(pk=test_link.pk).update(
        created_at=live.created_at - timedelta(minutes=5)
    )
    links = [
        TrackedLink.objects.create(
            workspace=workspace, campaign_id=sent.pk, url=f"https://shop.example.jp/{n}"
        )
        for n in range(2)
    ]
    _clicks(links[0], taro, taro, None)  # a forwarded link's click is nobody's
    _clicks(links[1], taro, hanako)
    draft = Campaign.objects.create(workspace=workspace, name="夏の下書き", messages=message)

    with CaptureQueriesContext(connection) as queries:
        rows = recent_campaigns(workspace)
    assert len(queries) == 2
    assert [(r.campaign.pk, r.clickers) for r in rows] == [(draft.pk, 0), (sent.pk, 2)]

    page = client_as(Role.VIEWER).get("/w/salon/").content.decode()
    html = re.sub(r"\s+", " ", page)
    assert f'<a href="/w/salon/campaigns/{sent.pk}/">春のセール</a>' in html
    assert f'<a href="/w/salon/campaigns/{draft.pk}/">夏の下書き</a>' in html
    for testid, value in [
        ("recent-sent", "120"),
        ("recent-failed", "4"),
        ("recent-excluded", "17"),
        ("recent-clickers", "2"),
    ]:
        assert re.search(rf'data-testid="{testid}"[^>]*>{value}</td>', html), testid
    # Asia/Tokyo is the workspace's and the site's default zone: 01:30 UTC is 10:30 JST.
    assert 'data-testid="recent-sent-at">2026-03-14 10:30<' in html
    assert "配信済み" in html and "下書き" in html


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
        workspace.plan = "standard"  # a Communication plan would stop at its own 200
        workspace.save()
        body = client_as(Role.VIEWER).get("/w/salon/dashboard/quota/", HTTP_HX_REQUEST="true")
    html = body.content.decode()
    assert "5,000" in html
    assert 'class="gauge ok"' in html


def _quota_panel(workspace: Workspace, client_as: Callable[[Role], Client], **quota: object) -> str:
    channel = ChannelConfig(
        channel_id=workspace.channel_id,
        access_token=workspace.channel_access_token.reveal(),
        channel_secret=workspace.channel_secret.reveal(),
        **quota,  # type: ignore[arg-type]
    )
    with running_emulator(EmulatorConfig(channels=[channel])) as url:
        workspace.api_base_url = url
        workspace.save()
        body = client_as(Role.VIEWER).get("/w/salon/dashboard/quota/", HTTP_HX_REQUEST="true")
    assert body.status_code == 200
    return body.content.decode()


def test_quota_panel_reads_a_limited_answer_without_value(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    # LINE's spec requires only `type`: {"type": "limited"} alone once raised KeyError here.
    # (On the Standard plan: the Communication and Light plans' own cap is known, see
    # test_send_confirmation's dashboard test.)
    workspace.plan = "standard"
    html = _quota_panel(
        workspace, client_as, quota_type="limited", quota_value=500, quota_value_shown=False
    )
    assert 'data-testid="quota"' in html
    assert "Set, but LINE did not say how many" in html or "上限は設定済み" in html
    assert "No limit" not in html and "上限なし" not in html


def test_quota_panel_reads_a_none_answer_as_no_limit(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    workspace.plan = "standard"  # no plan cap either
    html = _quota_panel(workspace, client_as, quota_type="none")
    assert 'data-testid="quota"' in html
    assert "No limit" in html or "上限なし" in html
