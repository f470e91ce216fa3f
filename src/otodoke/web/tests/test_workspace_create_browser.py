"""「新しいワークスペース」 in Chromium: an owner picks it from the workspace switcher, the slug
is suggested from the name as they type, and the new workspace opens on its first run."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from otodoke.workspaces.models import Membership, Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


def test_owner_creates_a_workspace_from_the_switcher_and_lands_on_its_first_run(
    workspace: Workspace, page_as: Callable[..., Page], live_server: LiveServer
) -> None:
    page = page_as(Role.OWNER)
    expect(page).to_have_url(f"{live_server.url}/w/salon/")
    page.get_by_test_id("workspace-switcher").select_option(label="＋ 新しいワークスペース")
    expect(page).to_have_url(f"{live_server.url}/workspaces/new/")
    expect(page.get_by_role("heading", name="新しいワークスペース")).to_be_visible()

    time_zone = page.get_by_label("タイムゾーン")
    expect(time_zone).to_have_value("Asia/Tokyo")
    assert time_zone.locator("option").first.get_attribute("value") == "Asia/Tokyo"
    page.locator("input[name=name]").press_sequentially("Cafe Komorebi Ginza")
    expect(page.locator("input[name=slug]")).to_have_value("cafe-komorebi-ginza")
    page.get_by_label("料金プラン").select_option("standard")
    page.get_by_test_id("workspace-create").click()

    expect(page).to_have_url(f"{live_server.url}/w/cafe-komorebi-ginza/")
    expect(page.get_by_role("status")).to_contain_text(
        "ワークスペース「Cafe Komorebi Ginza」を作成しました。"
    )
    first_run = page.get_by_test_id("first-run")
    expect(first_run).to_be_visible()
    expect(first_run).to_contain_text("LINEチャネルを接続する")
    expect(page.get_by_test_id("workspace-switcher")).to_have_value("/w/cafe-komorebi-ginza/")
    created = Workspace.objects.get(slug="cafe-komorebi-ginza")
    assert created.plan == "standard"
    assert Membership.objects.get(workspace=created).role == Role.OWNER
