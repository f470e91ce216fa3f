"""設定 → メンバー and the invitation page over HTTP; `/admin/` off by default and for
superusers only, with contacts' personal data masked there too."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import clear_url_caches

import otodoke.urls
from otodoke.contacts.models import Contact
from otodoke.web.tests.conftest import PASSWORD, make_user
from otodoke.workspaces import members as service
from otodoke.workspaces.models import AuditAction, AuditLog, Invitation, Membership, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace

NEW_PASSWORD = "hanamizuki-2026-spring"


def _new_login(**overrides: str) -> dict[str, str]:
    return {
        "username": "hanako",
        "email": "hanako@example.jp",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "role": "operator",
        **overrides,
    }


def test_owner_creates_a_login_that_is_no_superuser_and_can_log_in(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OWNER).post("/w/salon/settings/members/new/", _new_login())
    assert response.status_code == 302
    user = User.objects.get(username="hanako")
    assert not user.is_staff and not user.is_superuser
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.OPERATOR
    fresh = Client()
    logged_in = fresh.post("/login/", {"username": "hanako", "password": NEW_PASSWORD})
    assert logged_in.status_code == 302
    assert fresh.get("/w/salon/contacts/").status_code == 200
    assert fresh.get("/w/salon/settings/members/").status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"password2": "something-else-entirely"}, "一致しません|differ"),
        ({"password1": "password", "password2": "password"}, "password|パスワード"),
        ({"username": "owner"}, "owner"),
        ({"username": "bad name!"}, "username|ユーザー名"),
    ],
)
def test_a_bad_new_login_is_refused_with_the_field_named(
    client_as: Callable[[Role], Client], overrides: dict[str, str], field_error: str
) -> None:
    response = client_as(Role.OWNER).post("/w/salon/settings/members/new/", _new_login(**overrides))
    assert response.status_code == 400
    form = re.search(r'data-testid="create-form".*?</form>', response.content.decode(), re.S)
    assert form and re.search(field_error, form.group(0)), form
    assert User.objects.filter(username__in=["hanako", "bad name!"]).count() == 0


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.VIEWER])
def test_only_owners_manage_members(
    workspace: Workspace,
    members: dict[Role, User],
    client_as: Callable[[Role], Client],
    role: Role,
) -> None:
    client = client_as(role)
    assert client.get("/w/salon/settings/members/").status_code == 403
    assert client.post("/w/salon/settings/members/new/", _new_login()).status_code == 403
    invite = client.post("/w/salon/settings/members/invite/", {"role": "owner", "days": 7})
    assert invite.status_code == 403
    own = Membership.objects.get(workspace=workspace, user=members[role])
    promote = client.post(f"/w/salon/settings/members/{own.pk}/role/", {f"m{own.pk}-role": "owner"})
    assert promote.status_code == 403
    assert not User.objects.filter(username="hanako").exists()
    assert not Invitation.objects.exists()
    assert Membership.objects.get(pk=own.pk).role == role


def test_invitation_link_is_shown_once_listed_and_withdrawable(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    owner = client_as(Role.OWNER)
    response = owner.post(
        "/w/salon/settings/members/invite/",
        {"role": "viewer", "email": "mika@example.jp", "days": 3},
    )
    assert response.status_code == 302
    page = owner.get("/w/salon/settings/members/").content.decode()
    link = re.search(
        r'value="(http[^"]+/invite/([^"/]+)/)"[^>]*data-testid="invitation-link"', page
    )
    assert link, page
    token = link.group(2)
    # Shown once: the list keeps the invitation, never the link.
    again = owner.get("/w/salon/settings/members/").content.decode()
    assert token not in again
    assert "mika@example.jp" in again
    invitation = Invitation.objects.get()
    assert invitation.role == Role.VIEWER
    owner.post(f"/w/salon/settings/members/invitations/{invitation.pk}/revoke/")
    opened = Client().get(f"/invite/{token}/")
    assert opened.status_code == 410
    assert "取り消" in opened.content.decode() or "withdrawn" in opened.content.decode()
    assert AuditLog.objects.filter(action=AuditAction.INVITATION_REVOKED).count() == 1


def test_invitee_creates_a_login_joins_and_the_link_is_spent(
    workspace: Workspace, members: dict[Role, User]
) -> None:
    made = service.invite(workspace, role=Role.OPERATOR, actor=members[Role.OWNER])
    invitee = Client(HTTP_ACCEPT_LANGUAGE="ja")
    page = invitee.get(f"/invite/{made.token}/")
    assert page.status_code == 200
    assert "サロン花と緑" in page.content.decode() and "オペレーター" in page.content.decode()
    assert page.headers["Cache-Control"].startswith("max-age=0")
    form = {k: v for k, v in _new_login(username="taro").items() if k != "role"}
    response = invitee.post(f"/invite/{made.token}/", form)
    assert response.status_code == 302 and response["Location"] == "/w/salon/"
    assert invitee.get("/w/salon/").status_code == 200  # logged in as the new login
    taro = User.objects.get(username="taro")
    assert Membership.objects.get(workspace=workspace, user=taro).role == Role.OPERATOR
    spent = Client().get(f"/invite/{made.token}/")
    assert spent.status_code == 410
    assert "使用済み" in spent.content.decode()


def test_a_logged_in_login_joins_with_its_own_account(
    workspace: Workspace, members: dict[Role, User]
) -> None:
    other = create_workspace(
        name="別の店",
        slug="other",
        channel_id="2",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        owner=make_user("other-owner"),
    )
    made = service.invite(other, role=Role.MANAGER, actor=None)
    viewer = Client()
    viewer.force_login(members[Role.VIEWER])
    page = viewer.get(f"/invite/{made.token}/").content.decode()
    assert 'data-testid="join-as"' in page and 'name="password1"' not in page
    assert viewer.post(f"/invite/{made.token}/").status_code == 302
    joined = Membership.objects.get(workspace=other, user=members[Role.VIEWER])
    assert joined.role == Role.MANAGER
    # Still only a viewer where they were a viewer.
    assert Membership.objects.get(workspace=workspace, user=members[Role.VIEWER]).role == "viewer"


def test_unknown_invitation_link_says_so(db: None) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="ja").get("/invite/no-such-token/")
    assert response.status_code == 410
    assert "有効ではありません" in response.content.decode()


# --- /admin/ ---------------------------------------------------------------------------------


def _reload_urls() -> None:
    importlib.reload(otodoke.urls)
    clear_url_caches()


@pytest.fixture
def admin_on(settings: Any) -> Iterator[None]:
    settings.ADMIN_ENABLED = True
    _reload_urls()
    yield
    settings.ADMIN_ENABLED = False
    _reload_urls()


def test_admin_is_not_mounted_by_default(client_as: Callable[[Role], Client]) -> None:
    assert client_as(Role.OWNER).get("/admin/").status_code == 404
    assert Client().get("/admin/login/").status_code == 404


def test_admin_when_on_refuses_everyone_but_superusers(
    admin_on: None, members: dict[Role, User], client_as: Callable[[Role], Client]
) -> None:
    staffer = members[Role.OWNER]
    staffer.is_staff = True  # even a login that Django would let into its admin
    staffer.save()
    owner = Client()
    owner.force_login(staffer)
    response = owner.get("/admin/contacts/contact/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    # Logging in through the admin's own form does not get a non-superuser in either.
    viewer = Client()
    viewer.post("/admin/login/", {"username": "viewer", "password": PASSWORD, "next": "/admin/"})
    assert viewer.get("/admin/").status_code == 302
    root = User.objects.create_superuser("root", "root@example.jp", PASSWORD)
    superuser = Client()
    superuser.force_login(root)
    assert superuser.get("/admin/").status_code == 200


def test_admin_masks_contacts_pii_unless_the_superuser_may_see_it_there(
    admin_on: None, workspace: Workspace
) -> None:
    contact = Contact.objects.create(
        workspace=workspace,
        external_id="C-1",
        name="山田花子",
        email="hanako.yamada@example.jp",
        phone="+819012345678",
        line_user_id="U" + "0123456789abcdef" * 2,
    )
    raw = ["hanako.yamada@example.jp", "+819012345678", "U" + "0123456789abcdef" * 2]
    root = User.objects.create_superuser("root", "root@example.jp", PASSWORD)
    client = Client()
    client.force_login(root)
    change = client.get(f"/admin/contacts/contact/{contact.pk}/change/")
    assert change.status_code == 200
    page = change.content.decode()
    assert not [value for value in raw if value in page]
    assert "•" in page
    # The admin's search does not look into personal data (it would answer "who has this
    # phone?"): searching by the e-mail finds nobody, by the customer number finds her.
    assert (
        "山田花子"
        not in client.get("/admin/contacts/contact/", {"q": contact.email}).content.decode()
    )
    assert "山田花子" in client.get("/admin/contacts/contact/", {"q": "C-1"}).content.decode()
    # A superuser who is also an owner of the workspace sees them, read-only.
    Membership.objects.create(workspace=workspace, user=root, role=Role.OWNER)
    page = client.get(f"/admin/contacts/contact/{contact.pk}/change/").content.decode()
    assert all(value in page for value in raw)
    assert 'name="email"' not in page and 'name="phone"' not in page


def test_otodoke_admin_environment_variable_mounts_the_admin_only_when_true() -> None:
    """In real processes, as `otodoke serve` reads it: only OTODOKE_ADMIN=true mounts /admin/.
    The three processes run side by side: each spends its seconds importing Django."""
    probe = (
        "import django; django.setup()\n"
        "from django.urls import Resolver404, resolve\n"
        "try:\n    resolve('/admin/')\nexcept Resolver404:\n    print('absent')\n"
        "else:\n    print('mounted')\n"
    )
    expected = {None: "absent", "false": "absent", "true": "mounted"}
    processes = {}
    for value in expected:
        env = {k: v for k, v in os.environ.items() if k != "OTODOKE_ADMIN"}
        env |= {"DJANGO_SETTINGS_MODULE": "otodoke.settings"}
        if value is not None:
            env["OTODOKE_ADMIN"] = value
        processes[value] = subprocess.Popen(
            [sys.executable, "-c", probe],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    answers = {}
    for value, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        answers[value] = out.strip()
    assert answers == expected


def test_a_bad_otodoke_admin_value_stops_the_process_naming_it() -> None:
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "otodoke.settings", "OTODOKE_ADMIN": "maybe"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "OTODOKE_ADMIN" in result.stderr
