"""Fixtures: a workspace on the real-HTTP LINE emulator and contacts who are its friends."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN, EmulatorServer
from otodoke.campaigns import engine, services
from otodoke.campaigns.models import Campaign, Delivery, DeliveryStatus
from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace, set_member_role


class Line:
    """The emulator as tests use it: friends, faults and who received what."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.url = server.url
        self.control = f"{server.url}/_emulator"
        self.channel = f"{self.control}/channels/{TEST_CHANNEL_ID}"

    def add_friends(self, user_ids: list[str]) -> None:
        for start in range(0, len(user_ids), 5000):
            chunk = user_ids[start : start + 5000]
            body = {"friends": [{"user_id": u, "status": "following"} for u in chunk]}
            httpx.post(f"{self.channel}/friends", json=body, timeout=30).raise_for_status()

    def copies(self) -> dict[str, int]:
        response = httpx.get(f"{self.channel}/deliveries", params={"per_user": 1}, timeout=30)
        per_user: dict[str, int] = response.json()["per_user"]
        return per_user

    def received(self, user_id: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.channel}/friends/{user_id}/messages", timeout=10)
        received: list[dict[str, Any]] = response.json()["received"]
        return received

    def faults(self, **shares: Any) -> None:
        httpx.put(f"{self.control}/faults", json=shares, timeout=10).raise_for_status()

    def script(self, *kinds: str) -> None:
        httpx.post(
            f"{self.control}/faults/script", json={"faults": list(kinds)}, timeout=10
        ).raise_for_status()

    def responses(self, path: str | None = None) -> dict[str, Any]:
        """Every LINE API answer the emulator gave: counts per path and status, and the log."""
        params = {"path": path} if path else {}
        response = httpx.get(f"{self.control}/responses", params=params, timeout=30)
        answers: dict[str, Any] = response.json()
        return answers

    def set_channel(self, **changes: Any) -> None:
        httpx.patch(self.channel, json=changes, timeout=10).raise_for_status()

    def rate_limits(self, **overrides: str) -> None:
        httpx.put(
            f"{self.control}/rate-limits",
            json={"enabled": True, "overrides": overrides},
            timeout=10,
        ).raise_for_status()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Assertions read English reasons; the default language of the install is Japanese."""
    with translation.override("en"):
        yield


@pytest.fixture
def line(emulator: EmulatorServer) -> Iterator[Line]:
    yield Line(emulator)


@pytest.fixture
def engine_settings(settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.OTODOKE_MULTICAST_SIZE = 10
    settings.OTODOKE_LINE_SEND_TIMEOUT = 0.5
    settings.OTODOKE_BATCH_LEASE_SECONDS = 5
    settings.OTODOKE_RESULT_FLUSH_SECONDS = 0.05
    settings.PUBLIC_BASE_URL = "https://otodoke.example"
    return settings


@pytest.fixture
def owner(db: None) -> User:
    return User.objects.create_user("owner", password="x")


@pytest.fixture
def workspace(line: Line, owner: User, engine_settings: Any) -> Workspace:
    return create_workspace(
        name="Salon",
        slug="salon",
        channel_id=TEST_CHANNEL_ID,
        channel_secret="secret",
        channel_access_token=TEST_TOKEN,
        api_base_url=line.url,
        plan="standard",
        owner=owner,
    )


def member(workspace: Workspace, username: str, role: Role) -> User:
    user = User.objects.create_user(username, password="x")
    set_member_role(workspace, user, role, actor=None)
    return user


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def make_contacts(
    workspace: Workspace,
    line: Line,
    count: int,
    *,
    status: str = LineStatus.FOLLOWING,
    consent: bool = True,
    with_line_id: bool = True,
    names: list[str] | None = None,
) -> list[Contact]:
    """Contacts who are following friends at the emulator, whatever our own records say: if
    Otodoke sent to a contact it should not, the emulator would show the copy."""
    ids = [new_user_id() for _ in range(count)] if with_line_id else [None] * count
    contacts = [
        Contact(
            workspace=workspace,
            line_user_id=uid,
            line_status=status,
            marketing_consent=consent,
            name=(names[i] if names else f"客{i}"),
        )
        for i, uid in enumerate(ids)
    ]
    Contact.objects.bulk_create(contacts, batch_size=1000)
    line.add_friends([u for u in ids if u])
    return (
        list(Contact.objects.filter(line_user_id__in=[u for u in ids if u]).order_by("id"))
        if with_line_id
        else contacts
    )


TEXT = [{"type": "text", "text": "春のキャンペーンのお知らせ"}]


def send_all(
    workspace: Workspace,
    messages: list[dict[str, Any]] = TEXT,
    target: dict[str, Any] | None = None,
    **kwargs: Any,
) -> tuple[Campaign, Delivery]:
    """A campaign to `target` (every friend by default), sent by a trusted caller."""
    campaign = services.create_campaign(
        workspace,
        name="spring",
        messages=messages,
        target=target or {"all_friends": True},
        actor=None,
        **kwargs,
    )
    delivery = services.send_campaign(campaign, actor=None)
    return campaign, delivery


def run(delivery_id: int) -> str:
    """Run the delivery's engine steps until it leaves `sending` (as the worker would)."""
    status = ""
    for _ in range(60):
        status = engine.run_delivery(delivery_id)
        if status != DeliveryStatus.SENDING:
            return status
    return status


def cli(*args: str) -> Any:
    """`otodoke campaign ARGS --workspace salon --json`, its JSON answer."""
    out = io.StringIO()
    call_command("campaign", *args, "--workspace", "salon", "--json", stdout=out)
    return json.loads(out.getvalue())


def cli_refused(*args: str) -> dict[str, Any]:
    """The API-shaped error a refused `otodoke campaign ARGS --json` prints."""
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("campaign", *args, "--workspace", "salon", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert set(body) == {"error"}, body
    return dict(body["error"])
