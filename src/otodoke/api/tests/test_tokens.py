import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from otodoke.api.models import ApiToken
from otodoke.api.services import create_token, find_token, revoke_token
from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role


def stored_key_id(plaintext: str) -> str:
    return plaintext[len("otd_") :].partition("_")[0]


def test_token_is_shown_once_and_stored_only_as_a_hash(workspace: Workspace) -> None:
    created = create_token(workspace, name="POS", scopes=["read", "write"])
    assert created.plaintext.startswith("otd_")
    # 32 random bytes in URL-safe base64 are 43 characters.
    assert len(created.plaintext) - len("otd_") - len(stored_key_id(created.plaintext)) - 1 >= 43
    stored = ApiToken.objects.get()
    assert created.plaintext not in {stored.key_id, stored.secret_hash, stored.name}
    assert stored.secret_hash == hashlib.sha256(created.plaintext.encode()).hexdigest()
    assert stored.scopes == ["read", "write"]
    assert find_token(created.plaintext) == stored


def test_a_token_with_a_wrong_secret_or_unknown_id_is_not_found(workspace: Workspace) -> None:
    created = create_token(workspace, name="POS", scopes=["read"])
    assert find_token(created.plaintext[:-2] + "xx") is None
    assert find_token("otd_000000000000_" + "a" * 43) is None
    assert find_token("not-a-token") is None


def test_creation_and_revocation_are_audited(workspace: Workspace) -> None:
    created = create_token(workspace, name="POS", scopes=["read"], actor_name="cli")
    assert revoke_token(created.token, actor_name="cli") is True
    assert revoke_token(created.token, actor_name="cli") is False  # audited once
    actions = list(AuditLog.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert actions.count(AuditAction.API_TOKEN_CREATED) == 1
    assert actions.count(AuditAction.API_TOKEN_REVOKED) == 1
    entry = AuditLog.objects.get(action=AuditAction.API_TOKEN_CREATED)
    assert created.plaintext not in json.dumps(entry.details) + entry.target


def test_revoked_token_gets_401(api: Callable[..., ApiClient]) -> None:
    client = api("read")
    assert client.get("/api/v1/me").status_code == 200
    token = ApiToken.objects.get()
    revoke_token(token)
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_unknown_scope_is_rejected(workspace: Workspace) -> None:
    with pytest.raises(ValidationError):
        create_token(workspace, name="x", scopes=["read", "admin"])
    with pytest.raises(ValidationError):
        create_token(workspace, name="x", scopes=[])


def test_staff_cannot_hand_out_permissions_they_lack(workspace: Workspace) -> None:
    operator = User.objects.create_user("op")
    set_member_role(workspace, operator, Role.OPERATOR, actor=None)
    # Operators do not manage settings, so they create no tokens at all.
    with pytest.raises(PermissionDenied):
        create_token(workspace, name="x", scopes=["read"], actor=operator)
    owner = User.objects.create_user("owner")
    set_member_role(workspace, owner, Role.OWNER, actor=None)
    created = create_token(workspace, name="x", scopes=["read", "pii"], actor=owner)
    assert created.token.created_by == owner


def test_last_used_is_written_at_most_once_a_minute(api: Callable[..., ApiClient]) -> None:
    client = api("read")
    client.get("/api/v1/me")
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    client.get("/api/v1/me")
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=5))
    client.get("/api/v1/me")
    assert ApiToken.objects.get().last_used_at > first  # type: ignore[operator]


def test_cli_creates_lists_and_revokes_tokens(workspace: Workspace) -> None:
    out = StringIO()
    call_command(
        "api-token", "create", "--workspace", workspace.slug, "--name", "POS",
        "--scopes", "read,write", "--json", stdout=out,
    )  # fmt: skip
    created = json.loads(out.getvalue())
    assert created["token"].startswith("otd_")
    assert created["scopes"] == ["read", "write"]
    assert ApiClient(created["token"]).get("/api/v1/me").status_code == 200

    out = StringIO()
    call_command("api-token", "list", "--workspace", workspace.slug, "--json", stdout=out)
    listed = json.loads(out.getvalue())
    assert [t["key_id"] for t in listed] == [created["key_id"]]
    assert "token" not in listed[0]

    out = StringIO()
    call_command("api-token", "revoke", created["key_id"], "--json", stdout=out)
    assert json.loads(out.getvalue())["changed"] is True
    assert ApiClient(created["token"]).get("/api/v1/me").status_code == 401
    out = StringIO()
    call_command("api-token", "list", "--json", stdout=out)
    assert json.loads(out.getvalue()) == []


def test_cli_reports_bad_input_without_a_traceback(workspace: Workspace) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="root"):
        call_command(
            "api-token", "create", "--workspace", workspace.slug, "--name", "x",
            "--scopes", "root",
        )  # fmt: skip
    with pytest.raises(CommandError, match="nope"):
        call_command("api-token", "create", "--workspace", "nope", "--name", "x")
    with pytest.raises(CommandError, match="ffffffffffff"):
        call_command("api-token", "revoke", "ffffffffffff")


def test_cli_me_prints_what_get_me_answers_and_refuses_a_revoked_token(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.management.base import CommandError

    created = create_token(workspace, name="POS", scopes=["read", "write"])
    out = StringIO()
    call_command("api-token", "me", "--token", created.plaintext, "--json", stdout=out)
    assert json.loads(out.getvalue()) == ApiClient(created.plaintext).get("/api/v1/me").json()
    monkeypatch.setenv("OTODOKE_API_TOKEN", created.plaintext)
    out = StringIO()
    call_command("api-token", "me", stdout=out)
    assert created.token.key_id in out.getvalue() and "read,write" in out.getvalue()
    revoke_token(created.token)
    out = StringIO()
    with pytest.raises(CommandError, match="Not an active API token"):
        call_command("api-token", "me", "--json", stdout=out)
    assert json.loads(out.getvalue())["error"]["code"] == "not_authenticated"
