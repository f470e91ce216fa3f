"""設定 → メンバー in Chromium: an owner invites, the invitee opens the link on a phone, makes
a login and lands in the workspace with the role; an owner creates a login for a colleague."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from otodoke.workspaces.models import Membership, Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser

NEW_PASSWORD = "hanamizuki-2026-spring"


def test_invitee_opens_the_link_on_a_phone_and_joins_with_the_role(
    workspace: Workspace,
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
    live_server: LiveServer,
    settings: Any,
) -> None:
    settings.PUBLIC_BASE_URL = live_server.url
    owner = page_as(Role.OWNER)
    owner.goto(f"{live_server.url}/w/salon/settings/members/")
    invite = owner.get_by_test_id("invite-form")
    invite.locator("select[name=role]").select_option("viewer")
    invite.locator("input[name=email]").fill("mika@example.jp")
    invite.get_by_role("button", name="招待リンクを作成").click()
    link = owner.get_by_test_id("invitation-link").input_value()
    assert link.startswith(f"{live_server.url}/invite/")
    expect(owner.get_by_test_id("invitations")).to_contain_text("mika@example.jp")

    phone = new_page(phone=True)
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_contain_text("サロン花と緑")
    expect(phone.get_by_test_id("invitation-role")).to_contain_text("閲覧者")
    expect(phone.locator("input[name=email]")).to_have_value("mika@example.jp")
    phone.fill("input[name=username]", "mika")
    phone.fill("input[name=password1]", NEW_PASSWORD)
    phone.fill("input[name=password2]", NEW_PASSWORD)
    phone.get_by_role("button", name="ログインを作成して参加する").click()
    # A real browser's POST (Origin header, CSRF cookie) is accepted and logs the invitee in.
    expect(phone).to_have_url(re.compile(r"/w/salon/$"))
    expect(phone.locator(".who")).to_contain_text("mika · 閲覧者")
    mika = User.objects.get(username="mika")
    assert not mika.is_staff and not mika.is_superuser
    assert Membership.objects.get(workspace=workspace, user=mika).role == Role.VIEWER

    # The link is spent: opening it again (even logged in) says so and changes nothing.
    phone.goto(link)
    expect(phone.get_by_test_id("invitation-problem")).to_contain_text("使用済み")
    owner.reload()
    expect(owner.get_by_test_id("member-mika")).to_have_attribute("data-role", "viewer")
    expect(owner.get_by_test_id("invitations")).to_have_count(0)


def test_owner_creates_a_login_and_the_colleague_logs_in_with_it(
    workspace: Workspace,
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
    live_server: LiveServer,
) -> None:
    owner = page_as(Role.OWNER)
    owner.goto(f"{live_server.url}/w/salon/settings/members/")
    create = owner.get_by_test_id("create-form")
    create.locator("input[name=username]").fill("kenta")
    create.locator("input[name=password1]").fill(NEW_PASSWORD)
    create.locator("input[name=password2]").fill(NEW_PASSWORD)
    create.locator("select[name=role]").select_option("operator")
    create.get_by_role("button", name="ログインを作成する").click()
    expect(owner.get_by_test_id("member-kenta")).to_have_attribute("data-role", "operator")

    colleague = new_page()
    colleague.goto(f"{live_server.url}/login/")
    colleague.fill("input[name=username]", "kenta")
    colleague.fill("input[name=password]", NEW_PASSWORD)
    colleague.click("button[type=submit]")
    expect(colleague).to_have_url(re.compile(r"/w/salon/$"))
    expect(colleague.locator(".who")).to_contain_text("kenta · オペレーター")
    # An operator has no 設定 → メンバー.
    response = colleague.goto(f"{live_server.url}/w/salon/settings/members/")
    assert response is not None and response.status == 403
