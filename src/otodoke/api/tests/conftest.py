"""Personas for API tests: a workspace, tokens with given scopes, a client that sends them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from otodoke.api.services import create_token
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace


class ApiClient:
    """A test client that speaks JSON with one bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {}, headers=self._headers())

    def send(self, method: str, path: str, body: Any) -> Any:
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            path, data, content_type="application/json", headers=self._headers()
        )

    def post(self, path: str, body: Any) -> Any:
        return self.send("post", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self.send("put", path, body)

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self._headers())


def make_workspace(name: str = "Salon") -> Workspace:
    return create_workspace(
        name=name,
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
        actor_name="test",
    )


@pytest.fixture
def workspace(db: None) -> Workspace:
    return make_workspace()


@pytest.fixture
def api(workspace: Workspace) -> Callable[..., ApiClient]:
    """api("read", "write") → a client with a fresh token of those scopes."""

    def make(*scopes: str, rate: int | None = None, burst: int | None = None) -> ApiClient:
        created = create_token(
            workspace, name="test", scopes=scopes, rate_per_minute=rate, burst=burst
        )
        return ApiClient(created.plaintext)

    return make


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    return dict(body["error"])
