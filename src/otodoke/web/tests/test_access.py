"""Who may open which page: enforced on the server, whatever the links show."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from otodoke.web.tests.conftest import make_user
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

SETTINGS_PAGES = ["settings/", "settings/channel/", "settings/audit/"]


def test_anonymous_visitor_is_sent_to_login(workspace: Workspace) -> None:
    response = Client().get("/w/salon/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_non_member_gets_404_not_403_so_workspaces_stay_private(workspace: Workspace) -> None:
    client = Client()
    client.force_login(make_user("stranger"))
    assert client.get("/w/salon/").status_code == 404
    assert client.get("/w/salon/settings/").status_code == 404
    assert client.get("/w/no-such-shop/").status_code == 404


@pytest.mark.parametrize("page", SETTINGS_PAGES)
@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_staff_without_settings_permission_get_403(
    client_as: Callable[[Role], Client], role: Role, page: str
) -> None:
    assert client_as(role).get(f"/w/salon/{page}").status_code == 403


def test_manager_may_change_settings_but_not_members(client_as: Callable[[Role], Client]) -> None:
    manager = client_as(Role.MANAGER)
    assert manager.get("/w/salon/settings/").status_code == 200
    assert manager.get("/w/salon/settings/members/").status_code == 403


def test_viewer_sees_no_settings_link(client_as: Callable[[Role], Client]) -> None:
    page = client_as(Role.VIEWER).get("/w/salon/").content.decode()
    assert "/w/salon/settings/" not in page
    assert "/w/salon/contacts/" in page


def test_home_goes_straight_to_the_only_workspace(members: dict[Role, User]) -> None:
    client = Client()
    client.force_login(members[Role.OWNER])
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/w/salon/"


def test_home_lists_workspaces_when_there_are_several(
    workspace: Workspace, members: dict[Role, User]
) -> None:
    from otodoke.workspaces.services import create_workspace

    create_workspace(
        name="Second shop",
        channel_id="2",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        owner=members[Role.OWNER],
    )
    client = Client()
    client.force_login(members[Role.OWNER])
    page = client.get("/").content.decode()
    assert "/w/salon/" in page
    assert "Second shop" in page


def test_pages_are_japanese_by_default(client_as: Callable[[Role], Client]) -> None:
    page = client_as(Role.OWNER).get("/w/salon/").content.decode()
    assert "ダッシュボード" in page
    assert '<html lang="ja">' in page


def test_language_switch_to_english_sticks(members: dict[Role, User]) -> None:
    client = Client()
    client.force_login(members[Role.OWNER])
    client.post("/i18n/setlang/", {"language": "en", "next": "/w/salon/"})
    page = client.get("/w/salon/").content.decode()
    assert "Dashboard" in page
    assert '<html lang="en">' in page
