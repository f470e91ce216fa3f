"""Settings pages: credentials stay secret, every change is audited, roles are guarded."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, TEST_SECRET, TEST_TOKEN, EmulatorServer
from otodoke.web.tests.conftest import SECRET, TOKEN, make_user
from otodoke.workspaces.models import AuditAction, AuditLog, Membership, Workspace
from otodoke.workspaces.roles import Role


def test_channel_page_shows_credentials_masked_only(client_as: Callable[[Role], Client]) -> None:
    page = client_as(Role.OWNER).get("/w/salon/settings/channel/").content.decode()
    assert SECRET not in page
    assert TOKEN not in page
    assert TOKEN[-4:] in page  # the tail lets staff tell which token is stored
    assert "/line/webhook/" in page


def test_replacing_the_token_is_audited_without_the_value(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    new_token = "new-token-" + "Z9" * 40
    response = client_as(Role.OWNER).post(
        "/w/salon/settings/channel/", {"channel_secret": "", "channel_access_token": new_token}
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.channel_access_token.reveal() == new_token
    assert workspace.channel_secret.reveal() == SECRET
    entry = AuditLog.objects.get(action=AuditAction.CREDENTIALS_CHANGED)
    assert entry.details == {"fields": ["channel_access_token"]}
    assert new_token not in str(entry.details)
    page = client_as(Role.OWNER).get("/w/salon/settings/channel/").content.decode()
    assert new_token not in page


def test_empty_credentials_form_changes_nothing(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OWNER).post("/w/salon/settings/channel/", {})
    assert response.status_code == 200
    assert not AuditLog.objects.filter(action=AuditAction.CREDENTIALS_CHANGED).exists()


def _verify_result(client: Client) -> tuple[str, str]:
    response = client.post("/w/salon/settings/channel/verify/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith('<div id="verify"')  # only the fragment
    found = re.search(r'<div class="flash (\w+)" data-testid="verify-result">([^<]*)</div>', body)
    assert found, body
    return found.group(1), found.group(2)


def test_verify_button_explains_an_unreachable_line(client_as: Callable[[Role], Client]) -> None:
    level, message = _verify_result(client_as(Role.OWNER))
    assert level == "error"
    # Nothing listens at the workspace's API address: the transport error, in Japanese.
    assert message.startswith("LINEからの応答: LINE transport: ")


@pytest.fixture
def on_emulator(
    workspace: Workspace, emulator: EmulatorServer, live_server: LiveServer, settings: Any
) -> Workspace:
    """The workspace talks to the emulator, whose webhook test posts to this test's server."""
    settings.PUBLIC_BASE_URL = live_server.url
    Workspace.objects.filter(pk=workspace.pk).update(
        api_base_url=emulator.url,
        channel_id=TEST_CHANNEL_ID,
        channel_secret=TEST_SECRET,
        channel_access_token=TEST_TOKEN,
    )
    workspace.refresh_from_db()
    return workspace


def test_verify_button_reports_that_line_reached_the_webhook(
    on_emulator: Workspace, client_as: Callable[[Role], Client]
) -> None:
    level, message = _verify_result(client_as(Role.OWNER))
    assert (level, message) == ("success", "LINEからWebhook URLに接続でき、応答がありました。")


def test_verify_button_reports_the_webhooks_refusal(
    on_emulator: Workspace, emulator: EmulatorServer, client_as: Callable[[Role], Client]
) -> None:
    # LINE signs with a secret the workspace does not hold: our webhook refuses the post.
    emulator.channel.config.channel_secret = "f" * 32
    level, message = _verify_result(client_as(Role.OWNER))
    assert level == "error"
    assert message == "LINEからWebhook URLに接続できませんでした（403 ERROR_STATUS_CODE）。"


def test_general_settings_change_is_audited_with_old_and_new_values(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.MANAGER).post(
        "/w/salon/settings/",
        {"plan": "light", "time_zone": "Asia/Tokyo", "require_approval": "on"},
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.plan == "light"
    assert workspace.require_approval is True
    entry = AuditLog.objects.get(action=AuditAction.SETTINGS_CHANGED)
    assert entry.details == {
        "plan": ["communication", "light"],
        "require_approval": [False, True],
    }
    assert entry.actor_label == "manager"


def test_owner_adds_a_member_by_email(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    make_user("hanako")
    response = client_as(Role.OWNER).post(
        "/w/salon/settings/members/", {"identifier": "HANAKO@example.jp", "role": "operator"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(workspace=workspace, user__username="hanako").role == "operator"
    assert AuditLog.objects.filter(action=AuditAction.MEMBER_ADDED, target="hanako").exists()


def test_adding_an_unknown_login_says_so(client_as: Callable[[Role], Client]) -> None:
    response = client_as(Role.OWNER).post(
        "/w/salon/settings/members/", {"identifier": "nobody", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "nobody" in response.content.decode()


def test_last_owner_cannot_be_demoted_or_removed(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER)
    client = client_as(Role.OWNER)
    client.post(f"/w/salon/settings/members/{owner.pk}/role/", {f"m{owner.pk}-role": "viewer"})
    client.post(f"/w/salon/settings/members/{owner.pk}/remove/")
    owner.refresh_from_db()
    assert owner.role == Role.OWNER


def test_owner_changes_a_role(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    viewer = Membership.objects.get(workspace=workspace, user=members[Role.VIEWER])
    client_as(Role.OWNER).post(
        f"/w/salon/settings/members/{viewer.pk}/role/", {f"m{viewer.pk}-role": "manager"}
    )
    viewer.refresh_from_db()
    assert viewer.role == Role.MANAGER


def test_member_of_another_workspace_cannot_be_touched(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    from otodoke.workspaces.services import create_workspace

    other = create_workspace(
        name="Other",
        channel_id="9",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        owner=make_user("other-owner"),
    )
    foreign = Membership.objects.get(workspace=other)
    response = client_as(Role.OWNER).post(f"/w/salon/settings/members/{foreign.pk}/remove/")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_audit_log_filters_by_action_and_answers_htmx_with_rows_only(
    workspace: Workspace, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    client = client_as(Role.OWNER)
    response = client.get(
        "/w/salon/settings/audit/", {"action": "member.added"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.strip().startswith('<div id="audit-rows"')
    assert "viewer" in body
    assert "<html" not in body
    assert response["Vary"].count("HX-Request") == 1
    full = client.get("/w/salon/settings/audit/", {"action": "credentials.changed"})
    assert "<html" in full.content.decode()
    assert "viewer" not in full.content.decode().split('id="audit-rows"')[1]
