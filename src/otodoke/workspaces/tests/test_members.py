"""Staff logins without superusers: create, invite (single use, expiring, hashed), roles,
removal, the last owner, and the `otodoke member` command."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from otodoke.workspaces import members
from otodoke.workspaces.models import AuditAction, AuditLog, Invitation, Membership, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace, set_member_role

GOOD_PASSWORD = "sakura-blossom-2026"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(db: None) -> User:
    return User.objects.create_user("owner", password=GOOD_PASSWORD)


@pytest.fixture
def workspace(owner: User) -> Workspace:
    return create_workspace(
        name="Shop",
        slug="shop",
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        owner=owner,
    )


def _member(workspace: Workspace, username: str, role: Role) -> Membership:
    return set_member_role(workspace, User.objects.create_user(username), role, actor=None)


# --- creating logins -------------------------------------------------------------------------


def test_created_member_is_an_ordinary_login_with_the_role(
    workspace: Workspace, owner: User
) -> None:
    created = members.create_member(
        workspace,
        username="hanako",
        email="hanako@example.jp",
        password=GOOD_PASSWORD,
        role=Role.VIEWER,
        actor=owner,
    )
    user = User.objects.get(username="hanako")
    assert created.user == user and created.role == Role.VIEWER
    assert not user.is_staff and not user.is_superuser
    assert user.check_password(GOOD_PASSWORD)
    actions = set(AuditLog.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {AuditAction.LOGIN_CREATED, AuditAction.MEMBER_ADDED} <= actions


def test_bad_new_login_names_every_field_and_creates_nothing(
    workspace: Workspace, owner: User
) -> None:
    with pytest.raises(ValidationError) as caught:
        members.create_member(
            workspace,
            username="OWNER",  # differs from "owner" only by case
            email="not-an-address",
            password="1234",
            role=Role.OPERATOR,
            actor=owner,
        )
    problems = caught.value.message_dict
    assert set(problems) == {"username", "email", "password"}
    assert "OWNER" in problems["username"][0]
    assert User.objects.count() == 1
    assert Membership.objects.count() == 1


@pytest.mark.parametrize("role", [Role.MANAGER, Role.OPERATOR, Role.VIEWER])
def test_only_a_member_manager_may_create_or_invite(workspace: Workspace, role: Role) -> None:
    actor = _member(workspace, f"as-{role.value}", role).user
    with pytest.raises(PermissionDenied):
        members.create_member(
            workspace,
            username="x1",
            email="",
            password=GOOD_PASSWORD,
            role=Role.OWNER,
            actor=actor,
        )
    with pytest.raises(PermissionDenied):
        members.invite(workspace, role=Role.OWNER, actor=actor)
    assert not User.objects.filter(username="x1").exists()
    assert not Invitation.objects.exists()


# --- invitations -----------------------------------------------------------------------------


def test_invitation_stores_only_a_hash_and_works_once(workspace: Workspace, owner: User) -> None:
    made = members.invite(workspace, role=Role.OPERATOR, email="taro@example.jp", actor=owner)
    assert made.url.endswith(f"/invite/{made.token}/")
    stored = Invitation.objects.get()
    assert stored.token_hash == hashlib.sha256(made.token.encode()).hexdigest()
    assert made.token not in json.dumps(list(Invitation.objects.values()), default=str)

    joined = members.accept_with_new_login(
        made.token, username="taro", email="taro@example.jp", password=GOOD_PASSWORD
    )
    assert joined.workspace == workspace and joined.role == Role.OPERATOR
    assert not joined.user.is_staff and not joined.user.is_superuser
    with pytest.raises(members.InvitationError, match=r"already been used|使用"):
        members.accept_with_new_login(made.token, username="jiro", email="", password=GOOD_PASSWORD)
    assert not User.objects.filter(username="jiro").exists()
    assert AuditLog.objects.filter(action=AuditAction.INVITATION_ACCEPTED, actor=joined.user)


def test_expired_revoked_and_unknown_links_are_refused(workspace: Workspace, owner: User) -> None:
    expired = members.invite(workspace, role=Role.VIEWER, actor=owner, days=1)
    Invitation.objects.filter(pk=expired.invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = members.invite(workspace, role=Role.VIEWER, actor=owner)
    members.revoke_invitation(workspace, invitation_id=revoked.invitation.pk, actor=owner)
    for token in (expired.token, revoked.token, "made-up-token", ""):
        with pytest.raises(members.InvitationError):
            members.accept_with_new_login(
                token, username="someone", email="", password=GOOD_PASSWORD
            )
    assert not User.objects.filter(username="someone").exists()
    assert members.pending_invitations(workspace) == []


def test_a_bad_password_on_accepting_keeps_the_link_usable(
    workspace: Workspace, owner: User
) -> None:
    made = members.invite(workspace, role=Role.VIEWER, actor=owner)
    with pytest.raises(ValidationError) as caught:
        members.accept_with_new_login(made.token, username="ken", email="", password="password")
    assert "password" in caught.value.message_dict
    assert members.open_invitation(made.token).accepted_at is None
    members.accept_with_new_login(made.token, username="ken", email="", password=GOOD_PASSWORD)


def test_an_existing_login_joins_with_its_own_account(workspace: Workspace, owner: User) -> None:
    other = User.objects.create_user("agency-staff", password=GOOD_PASSWORD)
    made = members.invite(workspace, role=Role.MANAGER, actor=owner)
    assert members.accept_as(made.token, other).role == Role.MANAGER
    again = members.invite(workspace, role=Role.VIEWER, actor=owner)
    with pytest.raises(ValidationError, match="agency-staff"):
        members.accept_as(again.token, other)  # already a member: the role is not changed
    assert Membership.objects.get(user=other).role == Role.MANAGER


def test_invitation_lifetime_is_bounded(workspace: Workspace, owner: User) -> None:
    with pytest.raises(ValidationError) as caught:
        members.invite(workspace, role=Role.VIEWER, actor=owner, days=365)
    assert "days" in caught.value.message_dict


# --- the last owner --------------------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted_or_removed(workspace: Workspace, owner: User) -> None:
    mine = Membership.objects.get(user=owner)
    with pytest.raises(ValidationError):
        members.change_member_role(workspace, membership_id=mine.pk, role=Role.MANAGER, actor=owner)
    with pytest.raises(ValidationError):
        members.remove_member(workspace, membership_id=mine.pk, actor=owner)
    second = _member(workspace, "second-owner", Role.OWNER)
    members.remove_member(workspace, membership_id=mine.pk, actor=second.user)
    assert list(Membership.objects.values_list("user__username", "role")) == [
        ("second-owner", Role.OWNER)
    ]


# --- otodoke member ----------------------------------------------------------------------------


def _cli(*args: str, stdin: str | None = None, monkeypatch: Any = None) -> str:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("member", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_cli_add_list_role_remove(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    added = json.loads(
        _cli(
            "add",
            "--workspace=shop",
            "--role=operator",
            "--username=yuki",
            "--email=yuki@example.jp",
            "--password-stdin",
            "--json",
            stdin=GOOD_PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
    )
    assert added["username"] == "yuki" and added["role"] == "operator"
    user = User.objects.get(username="yuki")
    assert user.check_password(GOOD_PASSWORD) and not user.is_superuser and not user.is_staff

    listed = json.loads(_cli("list", "--workspace=shop", "--json"))
    assert [(m["username"], m["role"]) for m in listed] == [
        ("owner", "owner"),
        ("yuki", "operator"),
    ]
    _cli("role", "--workspace=shop", "--username=yuki", "--role=viewer")
    assert Membership.objects.get(user=user).role == Role.VIEWER
    _cli("remove", "--workspace=shop", "--username=yuki")
    assert not Membership.objects.filter(user=user).exists()
    labels = set(
        AuditLog.objects.filter(action__startswith="member.").values_list("actor_label", flat=True)
    )
    assert labels == {"cli"}


def test_cli_invite_prints_a_link_that_joins(workspace: Workspace) -> None:
    url = _cli("invite", "--workspace=shop", "--role=viewer").strip()
    token = url.rsplit("/invite/", 1)[1].strip("/")
    joined = members.accept_with_new_login(token, username="mika", email="", password=GOOD_PASSWORD)
    assert joined.role == Role.VIEWER and joined.workspace == workspace
    data = json.loads(_cli("invite", "--workspace=shop", "--role=manager", "--json"))
    assert data["role"] == "manager" and "/invite/" in data["url"]


def test_cli_refuses_weak_passwords_and_the_last_owner(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CommandError, match="--password"):
        _cli(
            "add",
            "--workspace=shop",
            "--role=viewer",
            "--username=weak",
            "--password-stdin",
            stdin="123\n",
            monkeypatch=monkeypatch,
        )
    assert not User.objects.filter(username="weak").exists()
    with pytest.raises(CommandError):
        _cli("remove", "--workspace=shop", "--username=owner")
    with pytest.raises(CommandError):
        _cli("role", "--workspace=shop", "--username=owner", "--role=viewer")
    with pytest.raises(CommandError, match="nobody"):
        _cli("remove", "--workspace=shop", "--username=nobody")
    with pytest.raises(CommandError, match="nosuch"):
        _cli("list", "--workspace=nosuch")
    assert Membership.objects.get(user__username="owner").role == Role.OWNER


def test_cli_add_without_a_terminal_asks_for_password_stdin(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(CommandError, match="--password-stdin"):
        _cli(
            "add",
            "--workspace=shop",
            "--role=viewer",
            "--username=noterm",
            stdin="",
            monkeypatch=monkeypatch,
        )
    assert not User.objects.filter(username="noterm").exists()


def test_cli_add_gives_an_existing_login_a_role_without_touching_its_password(
    workspace: Workspace, owner: User
) -> None:
    other = create_workspace(
        name="Other",
        slug="other",
        channel_id="2",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )
    _cli("add", "--workspace=other", "--role=manager", "--username=owner")
    assert Membership.objects.get(workspace=other, user=owner).role == Role.MANAGER
    owner.refresh_from_db()
    assert owner.check_password(GOOD_PASSWORD)
