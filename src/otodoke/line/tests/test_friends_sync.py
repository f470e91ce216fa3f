"""Friends sync against the emulator: paging, profiles, idempotence, blocked contacts."""

from __future__ import annotations

from io import StringIO

import httpx
import pytest
from django.core.management import call_command

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line.sync import sync_friends
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)


def make_friends(control: httpx.Client, count: int, status: str = "following") -> list[str]:
    response = control.post("/friends", json={"count": count, "status": status})
    assert response.status_code == 201
    return [f["user_id"] for f in response.json()["friends"]]


def test_sync_with_paging_creates_contacts_with_profiles(
    control: httpx.Client, workspace: Workspace
) -> None:
    following = make_friends(control, 25)
    make_friends(control, 3, status="blocked")  # LINE leaves blocked users out
    out = StringIO()

    call_command(
        "line", "sync-friends", "--workspace", workspace.slug, "--page-size", "10", stdout=out
    )

    assert "page 3:" in out.getvalue()  # progress per page
    contacts = Contact.objects.filter(workspace=workspace)
    assert set(contacts.values_list("line_user_id", flat=True)) == set(following)
    assert all(c.line_status == LineStatus.FOLLOWING for c in contacts)
    assert all(c.line_display_name for c in contacts)
    assert all(c.is_line_only for c in contacts)


def test_a_second_sync_changes_nothing_but_renamed_profiles(
    control: httpx.Client, workspace: Workspace
) -> None:
    make_friends(control, 12)
    first = sync_friends(workspace, page_limit=5)
    Contact.objects.filter(workspace=workspace).update(line_display_name="old name")

    second = sync_friends(workspace, page_limit=5)

    assert (first.pages, first.created) == (3, 12)
    assert (second.created, second.refollowed, second.profiles_updated) == (0, 0, 12)
    assert Contact.objects.count() == 12
    assert not Contact.objects.filter(line_display_name="old name").exists()


def test_sync_marks_a_known_blocked_contact_as_following_again(
    control: httpx.Client, workspace: Workspace
) -> None:
    [user_id] = make_friends(control, 1)
    Contact.objects.create(
        workspace=workspace, line_user_id=user_id, line_status=LineStatus.BLOCKED
    )

    report = sync_friends(workspace)

    assert report.refollowed == 1
    contact = Contact.objects.get(line_user_id=user_id)
    assert contact.line_status == LineStatus.FOLLOWING
    assert contact.line_followed_at is not None


def test_sync_waits_out_rate_limits(
    emulator: EmulatorServer, control: httpx.Client, workspace: Workspace
) -> None:
    make_friends(control, 4)
    script = httpx.post(
        f"{emulator.url}/_emulator/faults/script", json={"faults": ["429", "none", "429", "500"]}
    )
    assert script.status_code == 200

    report = sync_friends(workspace, concurrency=2)

    assert report.created == 4
    assert report.profiles_fetched == 4
