"""「新しいワークスペース」: owners (and superusers) create a workspace from the UI through the
CLI's service; the creator becomes its owner, the audit log says so, and the new dashboard
opens on the guided first run. Others are refused; bad or taken slugs are named in Japanese."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import User
from django.test import Client

from otodoke.web.tests.conftest import SECRET, TOKEN, make_user
from otodoke.workspaces.models import AuditAction, AuditLog, Membership, Workspace
from otodoke.workspaces.roles import Role

PAGE = "/workspaces/new/"


def _form(**overrides: str) -> dict[str, str]:
    return {"name": "Cafe Komorebi", "slug": "komorebi", "time_zone": "Asia/Tokyo",
            "plan": "light", **overrides}  # fmt: skip


def test_owner_creates_a_workspace_without_credentials_and_lands_on_its_first_run(
    workspace: Workspace, client_as: Callable[[Role], Client], members: dict[Role, User]
) -> None:
    owner = client_as(Role.OWNER)
    response = owner.post(PAGE, _form())
    assert response.status_code == 302
    assert response["Location"] == "/w/komorebi/"
    created = Workspace.objects.get(slug="komorebi")
    assert (created.name, created.plan, created.time_zone) == (
        "Cafe Komorebi",
        "light",
        "Asia/Tokyo",
    )
    assert created.channel_id == "" and not created.channel_secret
    membership = Membership.objects.get(workspace=created)
    assert (membership.user, membership.role) == (members[Role.OWNER], Role.OWNER)
    entry = AuditLog.objects.get(workspace=created)
    assert entry.action == AuditAction.WORKSPACE_CREATED
    assert (entry.actor, entry.actor_label, entry.target) == (
        members[Role.OWNER],
        "owner",
        "komorebi",
    )

    dashboard = owner.get(response["Location"]).content.decode()
    assert "ワークスペース「Cafe Komorebi」を作成しました。" in dashboard
    assert 'data-testid="first-run"' in dashboard
    assert "LINEチャネルを接続する" in dashboard


def test_credentials_given_at_creation_are_stored_encrypted(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    form = _form(channel_id="2000000999", channel_secret=SECRET, channel_access_token=TOKEN)
    assert client_as(Role.OWNER).post(PAGE, form).status_code == 302
    created = Workspace.objects.get(slug="komorebi")
    assert created.channel_id == "2000000999"
    assert created.channel_secret.reveal() == SECRET
    assert created.channel_access_token.reveal() == TOKEN


def test_a_japanese_name_without_slug_gets_one_made(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OWNER).post(PAGE, _form(name="美容室こもれび", slug=""))
    assert response.status_code == 302
    created = Workspace.objects.get(name="美容室こもれび")
    assert created.slug == "workspace"
    assert response["Location"] == "/w/workspace/"


def test_a_taken_slug_is_refused_in_japanese_and_nothing_is_created(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OWNER).post(PAGE, _form(slug="salon"))
    assert response.status_code == 200
    assert "「salon」は別のワークスペースが使っています" in response.content.decode()
    assert Workspace.objects.count() == 1
    assert (
        not AuditLog.objects.filter(action=AuditAction.WORKSPACE_CREATED)
        .exclude(workspace=workspace)
        .exists()
    )


def test_a_bad_slug_and_half_given_credentials_are_refused_in_japanese(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    owner = client_as(Role.OWNER)
    page = owner.post(PAGE, _form(slug="こもれび cafe")).content.decode()
    assert "スラッグに使えるのは半角の英数字・ハイフン・アンダースコアだけです" in page
    page = owner.post(PAGE, _form(channel_id="2000000999")).content.decode()
    assert "チャネルID・チャネルシークレット・チャネルアクセストークンは3つそろえて" in page
    page = owner.post(
        PAGE, _form(channel_id="abc", channel_secret=SECRET, channel_access_token=TOKEN)
    ).content.decode()
    assert "チャネルIDは数字だけです" in page
    assert Workspace.objects.count() == 1


def test_members_who_are_not_owners_are_refused(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    manager = client_as(Role.MANAGER)
    assert manager.get(PAGE).status_code == 403
    assert manager.post(PAGE, _form()).status_code == 403
    assert Workspace.objects.count() == 1
    # Nor is the way in offered to them.
    assert "新しいワークスペース" not in manager.get("/w/salon/").content.decode()
    assert "新しいワークスペース" in client_as(Role.OWNER).get("/w/salon/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(db: None) -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_superuser_without_workspaces_creates_the_first_from_home(db: None) -> None:
    admin = User.objects.create_superuser("admin", "admin@example.jp", "x")
    plain = make_user("plain")
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(admin)
    assert 'data-testid="new-workspace"' in client.get("/").content.decode()
    assert client.post(PAGE, _form()).status_code == 302
    assert Membership.objects.get(workspace__slug="komorebi").user == admin

    other = Client(HTTP_ACCEPT_LANGUAGE="ja")
    other.force_login(plain)
    assert 'data-testid="new-workspace"' not in other.get("/").content.decode()
    assert other.get(PAGE).status_code == 403


def test_a_workspace_without_credentials_is_connected_later_on_the_channel_page(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    owner = client_as(Role.OWNER)
    owner.post(PAGE, _form())
    channel = owner.get("/w/komorebi/settings/channel/")
    assert channel.status_code == 200 and "未設定" in channel.content.decode()
    # LINE is not reachable without a token; the quota box says so calmly, never a 500.
    assert owner.get("/w/komorebi/dashboard/quota/").status_code == 200
    # Webhooks to it are refused: there is no secret to check their signature against.
    created = Workspace.objects.get(slug="komorebi")
    assert Client().post(created.webhook_path(), b"{}", "application/json").status_code == 404

    form = {"channel_id": "2000000777", "channel_secret": SECRET, "channel_access_token": TOKEN}
    assert owner.post("/w/komorebi/settings/channel/", form).status_code == 302
    created.refresh_from_db()
    assert created.channel_id == "2000000777"
    assert created.channel_secret.reveal() == SECRET
    entry = AuditLog.objects.filter(workspace=created, action=AuditAction.CREDENTIALS_CHANGED).get()
    assert entry.details == {"fields": ["channel_id", "channel_secret", "channel_access_token"]}
