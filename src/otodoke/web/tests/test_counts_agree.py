"""One dataset, every screen's numbers (issue 12.20): the demo's customers, a saved segment's
reachable count, its LINE-ID export, the estimate, the send's results, the dashboard and the
demo banner agree, or the screen says why. LINE is the emulator over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
from django.test import Client

from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN, EmulatorServer
from otodoke.campaigns import engine, services
from otodoke.campaigns.models import Delivery
from otodoke.contacts.demo import generate_demo_data
from otodoke.contacts.models import Contact, LineStatus
from otodoke.core import demo
from otodoke.segments.exports import ExportKind, ExportSource, export_contacts
from otodoke.segments.services import count_segment, save_segment
from otodoke.web import campaigns as figures
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

CUSTOMERS = 400


def shown(page: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}"[^>]*>(.*?)</(?:dd|strong|span|p)>', page, re.S)
    assert found, f"{name} not on the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def stat(page: str, name: str) -> int:
    found = re.search(rf'data-testid="{name}">.*?<strong>([\d,]+)</strong>', page, re.S)
    assert found, f"{name} not on the page"
    return int(found.group(1).replace(",", ""))


def test_segment_export_estimate_and_send_agree_on_the_demo_data(
    workspace: Workspace,
    emulator: EmulatorServer,
    client_as: Callable[[Role], Client],
    tmp_path: Path,
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(
        api_base_url=emulator.url,
        channel_id=TEST_CHANNEL_ID,
        channel_access_token=TEST_TOKEN,
        plan="standard",  # no plan cap: every reachable friend is sent to
    )
    workspace.refresh_from_db()
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}",
        json={"quota_type": "none"},
        timeout=10,
    ).raise_for_status()
    generate_demo_data(workspace, contacts=CUSTOMERS)
    demo.register_friends(emulator.url, TEST_CHANNEL_ID, demo.demo_friends(workspace, contacts=0))
    everyone = {"version": 1, "where": {"kind": "all", "conditions": []}}
    segment = save_segment(workspace, name="全員", definition=everyone, actor=None)
    counted = count_segment(workspace, everyone)
    blocked = Contact.objects.filter(workspace=workspace, line_status=LineStatus.BLOCKED)
    assert blocked.exists()  # the demo has blocked friends: the old export included them

    # The LINE-ID export holds the segment's reachable friends, and says why others are not.
    exported = export_contacts(
        workspace,
        ExportKind.LINE_IDS,
        source=ExportSource(segment=segment),
        actor=None,
        actor_name="test",
        out_dir=tmp_path,
    )
    assert exported.rows - exported.unknown_friend_state == counted.reachable
    assert exported.skipped["blocked"] == blocked.filter(marketing_consent=True).count()
    assert exported.rows + sum(exported.skipped.values()) == counted.total

    # The campaign estimate says the same, and so do the send's results, with the rest
    # accounted for by reason.
    target = {"include": [{"segment": segment.pk}]}
    estimate = figures.estimate(workspace, target)
    assert (estimate.targeted, estimate.reachable) == (counted.total, counted.reachable)
    campaign = services.create_campaign(
        workspace, name="全員へ", messages=[{"type": "text", "text": "ご案内"}], target=target,
        actor=None,
    )  # fmt: skip
    delivery = services.send_campaign(campaign, actor=None)
    assert engine.run_delivery(delivery.pk) == "done"
    delivery = Delivery.objects.get(pk=delivery.pk)
    assert delivery.sent == counted.reachable
    assert delivery.sent + delivery.excluded == delivery.total == counted.total
    page = client_as(Role.OWNER).get(f"/w/salon/campaigns/{campaign.pk}/").content.decode()
    summary = shown(page, "results-summary")
    assert f"{delivery.total:,}" in summary and f"{delivery.sent:,}" in summary
    assert f"{delivery.excluded:,}" in summary


def test_dashboard_and_demo_banner_use_one_definition_of_friends_and_customers(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    generate_demo_data(workspace, contacts=CUSTOMERS)
    contacts = Contact.objects.filter(workspace=workspace)
    following = contacts.filter(line_status=LineStatus.FOLLOWING).count()
    blocked = contacts.filter(line_status=LineStatus.BLOCKED).count()
    line_only = contacts.filter(external_id__isnull=True).count()
    assert line_only == CUSTOMERS // 10  # the demo adds LINE-only followers to its customers

    page = client_as(Role.VIEWER).get("/w/salon/").content.decode()
    banner = demo.friends_line(workspace)

    assert stat(page, "following") == following
    assert f"{following:,} following, {blocked:,} blocked" in banner
    assert stat(page, "contacts") == CUSTOMERS + line_only
    split = shown(page, "contacts-split")
    assert f"{CUSTOMERS:,}" in split and f"{line_only:,}" in split
    assert f"{CUSTOMERS:,} customers + {line_only:,} LINE-only followers" in banner
