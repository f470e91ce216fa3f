"""Settings → API tokens: a manager issues a token from the UI (the secret shown once and
working against the API), sees it listed without its secret, and revokes it at once."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.test import Client

from otodoke.api.models import ApiToken
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

PAGE = "/w/salon/settings/api-tokens/"


def test_a_token_issued_in_the_ui_works_once_shown_and_stops_when_revoked(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    owner = client_as(Role.OWNER)
    page = owner.post(PAGE, {"name": "POS連携", "scopes": ["read", "write"]}).content.decode()
    secret = re.search(r'value="(otd_[^"]+)"', page)
    assert secret is not None
    token = ApiToken.objects.get(workspace=workspace)
    assert (token.name, token.scopes) == ("POS連携", ["read", "write"])
    headers = {"Authorization": f"Bearer {secret.group(1)}"}
    assert Client().get("/api/v1/contacts", headers=headers).status_code == 200

    listing = owner.get(PAGE).content.decode()
    assert "POS連携" in listing and token.key_id in listing
    assert secret.group(1) not in listing  # never shown again
    assert "連絡先・イベント・タグの追加と変更" in listing

    response = owner.post(f"{PAGE}{token.pk}/revoke/")
    assert response.status_code == 302
    assert Client().get("/api/v1/contacts", headers=headers).status_code == 401
    actions = set(AuditLog.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {AuditAction.API_TOKEN_CREATED, AuditAction.API_TOKEN_REVOKED} <= actions


def test_a_token_needs_a_name_and_a_scope(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    page = client_as(Role.OWNER).post(PAGE, {"name": "", "scopes": []})
    assert page.status_code == 200
    assert "このフィールドは必須です" in page.content.decode()
    assert not ApiToken.objects.exists()


def test_only_settings_managers_reach_the_tokens(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    assert client_as(Role.OPERATOR).get(PAGE).status_code == 403
    response = client_as(Role.OPERATOR).post(PAGE, {"name": "x", "scopes": ["read"]})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()
