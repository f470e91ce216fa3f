"""The demo's logins: one per role, passwords kept across restarts, never Django staff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from otodoke.core import demo
from otodoke.workspaces.models import Membership, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


def _workspace(owner: User) -> Workspace:
    return create_workspace(
        name="デモ",
        slug=demo.DEMO_SLUG,
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        owner=owner,
    )


def test_one_login_per_role_with_the_same_passwords_on_every_start(
    db: None, data_dir: Path
) -> None:
    first = demo.ensure_logins()
    assert [(login.username, login.role) for login in first] == [
        ("owner", Role.OWNER),
        ("manager", Role.MANAGER),
        ("operator", Role.OPERATOR),
        ("viewer", Role.VIEWER),
    ]
    workspace = _workspace(User.objects.get(username="owner"))
    demo.ensure_members(workspace, first)
    demo.ensure_members(workspace, first)  # a restart adds nothing twice
    roles = dict(Membership.objects.values_list("user__username", "role"))
    assert roles == {login.username: login.role.value for login in first}
    assert demo.ensure_logins() == first
    for login in first:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password)
        assert not user.is_staff and not user.is_superuser
    assert (data_dir / "demo.json").stat().st_mode & 0o777 == 0o600


def test_an_older_demo_folder_keeps_its_owner_password(db: None, data_dir: Path) -> None:
    old = User.objects.create_user("owner", password="kept-from-before", is_staff=True)
    (data_dir / "demo.json").write_text(json.dumps({"password": "kept-from-before"}))
    logins = demo.ensure_logins()
    assert logins[0].password == "kept-from-before"
    old.refresh_from_db()
    assert old.check_password("kept-from-before")
    assert not old.is_staff  # the old demo's owner could open /admin/; now nobody can
