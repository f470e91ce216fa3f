import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError

from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.plans import Plan, estimate_cost
from otodoke.workspaces.roles import Permission, Role
from otodoke.workspaces.services import (
    can,
    create_workspace,
    require,
    set_member_role,
    update_credentials,
)


@pytest.fixture
def owner(db: None) -> User:
    return User.objects.create_user("owner", password="pw-owner-123")


@pytest.fixture
def workspace(owner: User) -> Workspace:
    return create_workspace(
        name="Shop",
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        owner=owner,
    )


@pytest.mark.parametrize(
    ("role", "allowed", "denied"),
    [
        (
            Role.MANAGER,
            {Permission.VIEW_PII, Permission.EXPORT, Permission.APPROVE},
            {Permission.MANAGE_MEMBERS},
        ),
        (
            Role.OPERATOR,
            {Permission.SEND, Permission.EDIT},
            {Permission.VIEW_PII, Permission.EXPORT, Permission.APPROVE},
        ),
        (
            Role.VIEWER,
            {Permission.VIEW},
            {Permission.VIEW_PII, Permission.EXPORT, Permission.SEND, Permission.EDIT},
        ),
    ],
)
def test_roles_grant_their_permissions_only(
    workspace: Workspace, owner: User, role: Role, allowed: set[Permission], denied: set[Permission]
) -> None:
    staff = User.objects.create_user(f"staff-{role}")
    set_member_role(workspace, staff, role, actor=owner)
    assert all(can(staff, workspace, p) for p in allowed)
    assert not any(can(staff, workspace, p) for p in denied)


def test_owner_has_every_permission(workspace: Workspace, owner: User) -> None:
    assert all(can(owner, workspace, p) for p in Permission)


def test_non_member_has_no_permission_in_another_workspace(workspace: Workspace) -> None:
    stranger = User.objects.create_user("stranger")
    assert not can(stranger, workspace, Permission.VIEW)
    with pytest.raises(PermissionDenied):
        require(stranger, workspace, Permission.VIEW)


def test_only_members_managers_can_change_roles(workspace: Workspace, owner: User) -> None:
    manager = User.objects.create_user("manager")
    set_member_role(workspace, manager, Role.MANAGER, actor=owner)
    with pytest.raises(PermissionDenied):
        set_member_role(workspace, User.objects.create_user("x"), Role.OWNER, actor=manager)


def test_setting_and_member_changes_are_audited_without_values(
    workspace: Workspace, owner: User
) -> None:
    update_credentials(workspace, actor=owner, channel_access_token="new-token-value")
    entry = AuditLog.objects.filter(action=AuditAction.CREDENTIALS_CHANGED).get()
    assert entry.actor == owner and entry.actor_label == "owner"
    assert entry.details == {"fields": ["channel_access_token"]}
    assert "new-token-value" not in str(entry.details)
    assert AuditLog.objects.filter(
        action=AuditAction.WORKSPACE_CREATED, workspace=workspace
    ).exists()


def test_audit_entries_cannot_be_rewritten(workspace: Workspace) -> None:
    entry = AuditLog.objects.first()
    assert entry is not None
    entry.target = "tampered"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()


def test_operator_cannot_change_credentials(workspace: Workspace, owner: User) -> None:
    operator = User.objects.create_user("op")
    set_member_role(workspace, operator, Role.OPERATOR, actor=owner)
    with pytest.raises(PermissionDenied):
        update_credentials(workspace, actor=operator, channel_secret="x")


@pytest.mark.django_db
def test_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        create_workspace(
            name="Bad",
            channel_id="1",
            channel_secret="s",
            channel_access_token="t",
            api_base_url="http://127.0.0.1:9",
            time_zone="Mars/Olympus",
        )
    assert "time_zone" in exc.value.message_dict
    assert not Workspace.objects.exists()


def test_cost_estimate_by_plan() -> None:
    standard = estimate_cost(Plan.STANDARD, already_sent_this_month=29_000, messages=3_000)
    assert (standard.free_used, standard.extra_messages, standard.extra_cost_yen) == (
        1_000,
        2_000,
        6_000,
    )
    assert standard.allowed_by_plan
    light = estimate_cost(Plan.LIGHT, already_sent_this_month=4_900, messages=200)
    assert light.extra_messages == 100 and not light.allowed_by_plan
    free = estimate_cost(Plan.COMMUNICATION, already_sent_this_month=0, messages=200)
    assert free.allowed_by_plan and free.extra_cost_yen == 0
