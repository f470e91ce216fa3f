from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from itertools import count
from typing import Any

import pytest
from django.contrib.auth.models import User

from otodoke.contacts.models import Contact, ContactTag, Event, Tag
from otodoke.segments.services import contacts_matching
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace, set_member_role

_numbers = count(1)
# 2024-03-15 12:00 in Tokyo: the fixed "now" of most tests.
NOW = dt.datetime(2024, 3, 15, 3, 0, tzinfo=dt.UTC)

MakeContact = Callable[..., Contact]
Match = Callable[..., set[int]]


def line_id(n: int) -> str:
    return "U" + f"{n:032x}"


@pytest.fixture
def workspace(db: None) -> Workspace:
    return create_workspace(
        name="Salon",
        slug="salon",
        channel_id="1",
        channel_secret="s",
        channel_access_token="t",
        api_base_url="http://127.0.0.1:9",
    )


@pytest.fixture
def make_contact(workspace: Workspace) -> MakeContact:
    def make(ws: Workspace | None = None, **fields: Any) -> Contact:
        n = next(_numbers)
        fields.setdefault("external_id", f"C{n:05d}")
        return Contact.objects.create(workspace=ws or workspace, **fields)

    return make


@pytest.fixture
def match(workspace: Workspace) -> Match:
    """The ids of the contacts matching `where` (one condition) at NOW, or at `now`."""

    def run(
        where: dict[str, Any], *, ws: Workspace | None = None, now: dt.datetime = NOW
    ) -> set[int]:
        definition = {"version": 1, "where": where}
        qs = contacts_matching(ws or workspace, definition, now=now)
        return set(qs.values_list("pk", flat=True))

    return run


def tag(contact: Contact, name: str, added_at: dt.datetime = NOW) -> None:
    t, _ = Tag.objects.get_or_create(workspace=contact.workspace, name=name)
    ContactTag.objects.create(contact=contact, tag=t, added_at=added_at)


def event(
    contact: Contact, kind: str, at: dt.datetime, amount: int | None = None, **props: Any
) -> Event:
    return Event.objects.create(
        workspace=contact.workspace,
        contact=contact,
        kind=kind,
        occurred_at=at,
        amount=amount,
        properties=props,
    )


def member(workspace: Workspace, username: str, role: Role) -> User:
    user = User.objects.create_user(username)
    set_member_role(workspace, user, role, actor=None)
    return user
