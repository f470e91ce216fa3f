"""Friends sync when LINE's answers are wrong (issue 12.34): a repeated cursor, follower IDs
that are not LINE user IDs, a profile of another user. The emulator's scripted answers play
the misbehaving LINE over real HTTP."""

from __future__ import annotations

from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line.client import LineApiError, LineClient
from otodoke.line.sync import sync_friends
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

FOLLOWERS = "/v2/bot/followers/ids"
A, B, C = ("U" + ch * 32 for ch in "abc")


def answer(emulator: EmulatorServer, *answers: dict[str, Any]) -> None:
    httpx.post(
        f"{emulator.url}/_emulator/answers/script", json={"answers": list(answers)}
    ).raise_for_status()


def follower_page(user_ids: list[str], next_cursor: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"userIds": user_ids}
    if next_cursor:
        body["next"] = next_cursor
    return {"method": "GET", "path": FOLLOWERS, "status": 200, "body": body}


def requests_to(emulator: EmulatorServer, path: str) -> int:
    log = httpx.get(f"{emulator.url}/_emulator/responses", params={"path": path}).json()
    return len(log["requests"])


def test_a_repeated_next_cursor_stops_the_sync_with_a_clear_error(
    emulator: EmulatorServer, workspace: Workspace
) -> None:
    # LINE keeps answering the same cursor: without a guard the walk never ends.
    answer(
        emulator,
        follower_page([A], "cursor-1"),
        *[follower_page([B], "cursor-1") for _ in range(30)],
    )

    with pytest.raises(LineApiError) as error:
        sync_friends(workspace, fetch_profile=False)

    assert "cursor-1" in error.value.message and "second time" in error.value.message
    assert requests_to(emulator, FOLLOWERS) == 2  # stopped at the first repeat
    # The pages read before the repeat are kept.
    assert set(Contact.objects.values_list("line_user_id", flat=True)) == {A, B}


def test_the_cli_names_the_repeated_cursor(emulator: EmulatorServer, workspace: Workspace) -> None:
    answer(emulator, follower_page([A], "again"), follower_page([B], "again"))
    with pytest.raises(CommandError) as error:
        call_command("line", "sync-friends", "--workspace", workspace.slug, stdout=StringIO())
    assert "'again' a second time" in str(error.value)


def test_follower_ids_that_are_not_line_user_ids_never_become_contacts(
    emulator: EmulatorServer, workspace: Workspace
) -> None:
    bad = ["", "U" + "a" * 69, "U" + "A" * 32, "u" + "b" * 32, "U" + "c" * 31, " " + C]
    answer(emulator, follower_page([*bad, C, C]))

    report = sync_friends(workspace, fetch_profile=False)

    assert report.invalid_ids == len(bad)
    assert report.followers == 1 and report.created == 1
    assert list(Contact.objects.values_list("line_user_id", "line_status")) == [
        (C, LineStatus.FOLLOWING)
    ]


def test_a_profile_of_another_user_is_refused_not_stored(
    emulator: EmulatorServer, control: httpx.Client, workspace: Workspace
) -> None:
    control.post("/friends", json={"friends": [{"user_id": A, "display_name": "本人"}]})
    answer(
        emulator,
        {
            "method": "GET",
            "path": f"/v2/bot/profile/{A}",
            "status": 200,
            "body": {"userId": B, "displayName": "別人"},
        },
    )

    report = sync_friends(workspace)

    assert (report.created, report.profiles_fetched, report.profiles_missing) == (1, 0, 1)
    assert Contact.objects.get(line_user_id=A).line_display_name == ""
    # Asked again, LINE gives the right one, and only then is it stored.
    with LineClient.for_workspace(workspace) as client:
        assert client.get_profile(A).display_name == "本人"


def test_the_client_names_both_users_when_the_profile_is_of_another(
    emulator: EmulatorServer, workspace: Workspace
) -> None:
    answer(
        emulator,
        {
            "method": "GET",
            "path": f"/v2/bot/profile/{A}",
            "status": 200,
            "body": {"userId": B, "displayName": "別人"},
        },
    )
    with LineClient.for_workspace(workspace) as client, pytest.raises(LineApiError) as error:
        client.get_profile(A)
    assert error.value.permanent
    assert A in error.value.message and B in error.value.message
