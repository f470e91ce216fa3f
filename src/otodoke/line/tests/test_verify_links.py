"""Imported links are checked against LINE (issue 12.5): friends become reachable, the rest
stay unknown, at LINE's rate limits; after an import, from the CLI, over real HTTP."""

from __future__ import annotations

import json
import time
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from pytest_django.fixtures import Settings

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LineStatus
from otodoke.line import verify
from otodoke.line.models import LinkCheck, LinkCheckStatus
from otodoke.line.tests.conftest import run_tasks
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db(transaction=True)

FRIENDS = [f"U{i:032x}" for i in range(1, 4)]
STRANGER = "U" + "e" * 32  # never followed: LINE answers 404 for the profile
BLOCKER = "U" + "f" * 32  # blocked the account


@pytest.fixture
def line_friends(control: httpx.Client) -> None:
    control.post(
        "/friends",
        json={
            "friends": [{"user_id": u, "display_name": f"友{i}"} for i, u in enumerate(FRIENDS)]
            + [{"user_id": BLOCKER, "status": "blocked"}]
        },
    ).raise_for_status()


def links_file(tmp_path: Path) -> Path:
    rows = ["顧客番号,LINEユーザーID"]
    rows += [f"C{i},{uid}" for i, uid in enumerate([*FRIENDS, STRANGER, BLOCKER])]
    path = tmp_path / "links.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def customers(workspace: Workspace) -> None:
    for i in range(5):
        Contact.objects.create(workspace=workspace, external_id=f"C{i}", name=f"客{i}")


def statuses(workspace: Workspace) -> dict[str, str]:
    rows = Contact.objects.filter(workspace=workspace, line_user_id__isnull=False)
    return {str(uid): status for uid, status in rows.values_list("line_user_id", "line_status")}


def test_an_import_of_links_queues_a_check_that_makes_friends_reachable(
    workspace: Workspace, line_friends: None, tmp_path: Path
) -> None:
    customers(workspace)
    call_command(
        "import", "links", str(links_file(tmp_path)), "--workspace", workspace.slug,
        stdout=StringIO(),
    )  # fmt: skip
    assert set(statuses(workspace).values()) == {LineStatus.NONE}  # unknown until checked
    check = LinkCheck.objects.get()
    assert (check.status, check.requested_by) == (LinkCheckStatus.QUEUED, "import")

    run_tasks()

    assert statuses(workspace) == {
        **dict.fromkeys(FRIENDS, LineStatus.FOLLOWING),
        STRANGER: LineStatus.NONE,
        BLOCKER: LineStatus.NONE,
    }
    check.refresh_from_db()
    assert check.status == LinkCheckStatus.DONE and check.method == "profile"
    assert (check.checked, check.following, check.not_found, check.failed) == (5, 3, 2, 0)
    assert check.finished_at is not None


def test_the_follower_list_answers_for_many_ids_in_one_request(
    emulator: EmulatorServer, workspace: Workspace, line_friends: None, tmp_path: Path
) -> None:
    customers(workspace)
    call_command("import", "links", str(links_file(tmp_path)), "--workspace", workspace.slug,
                 stdout=StringIO())  # fmt: skip
    out = StringIO()
    call_command(
        "line", "verify-links", "--workspace", workspace.slug, "--method", "followers",
        "--json", stdout=out,
    )  # fmt: skip

    assert json.loads(out.getvalue()) == {
        "method": "followers",
        "checked": 5,
        "following": 3,
        "not_found": 2,
        "failed": 0,
    }
    assert statuses(workspace)[FRIENDS[0]] == LineStatus.FOLLOWING
    log = httpx.get(f"{emulator.url}/_emulator/responses").json()["requests"]
    assert [r["path"] for r in log] == ["/v2/bot/followers/ids"]  # no profile calls


def test_an_account_without_the_follower_list_gets_a_clear_error_or_the_profile_method(
    emulator: EmulatorServer, workspace: Workspace, line_friends: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{workspace.channel_id}", json={"verified": False}
    ).raise_for_status()
    customers(workspace)
    call_command("import", "links", str(links_file(tmp_path)), "--workspace", workspace.slug,
                 stdout=StringIO())  # fmt: skip
    with pytest.raises(CommandError) as error:
        call_command("line", "verify-links", "--workspace", workspace.slug,
                     "--method", "followers")  # fmt: skip
    assert "403" in str(error.value)
    assert set(statuses(workspace).values()) == {LineStatus.NONE}

    monkeypatch.setattr(verify, "PROFILE_METHOD_MAX", 2)  # auto would pick the list
    report = verify.verify_links(workspace)
    assert (report.method, report.following, report.not_found) == ("profile", 3, 2)


def test_the_cli_reports_in_japanese_by_default(
    workspace: Workspace, line_friends: None, tmp_path: Path
) -> None:
    customers(workspace)
    call_command("import", "links", str(links_file(tmp_path)), "--workspace", workspace.slug,
                 stdout=StringIO())  # fmt: skip
    out = StringIO()
    with translation.override("ja"):
        call_command("line", "verify-links", "--workspace", workspace.slug, stdout=out)
    assert "5 件を確認しました: 友だち 3 件、見つからない 2 件" in out.getvalue()


def test_profile_checks_stay_within_the_profile_rate_limit(
    emulator: EmulatorServer, workspace: Workspace, control: httpx.Client, settings: Settings
) -> None:
    settings.OTODOKE_LINE_RATES = {"profile": 10}
    settings.OTODOKE_RATE_SHARE = 1.0
    httpx.put(
        f"{emulator.url}/_emulator/rate-limits",
        json={"enabled": True, "overrides": {"profile": "10/s"}},
    ).raise_for_status()
    users = [f"U{i:032x}" for i in range(100, 125)]
    control.post("/friends", json={"friends": [{"user_id": u} for u in users]})
    for i, uid in enumerate(users):
        Contact.objects.create(workspace=workspace, external_id=f"R{i}", line_user_id=uid)

    started = time.monotonic()
    report = verify.verify_links(workspace, method="profile")
    elapsed = time.monotonic() - started

    assert (report.checked, report.following, report.failed) == (25, 25, 0)
    assert elapsed >= 2.0  # 25 requests at 10/s from a bucket of about 2
    counts = httpx.get(f"{emulator.url}/_emulator/responses", params={"log": 0}).json()
    answered = {
        status for path, by in counts["counts"].items() if "/profile/" in path for status in by
    }
    assert answered == {"200"}  # never a 429


def test_a_check_is_not_queued_twice_and_a_block_meanwhile_wins(
    workspace: Workspace, line_friends: None
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C0", line_user_id=FRIENDS[0])
    Contact.objects.create(workspace=workspace, external_id="C1", line_user_id=FRIENDS[1])
    first = verify.request_check(workspace, requested_by="owner")
    assert verify.request_check(workspace, requested_by="import").pk == first.pk
    # A block webhook for C1 is applied before the check runs: the check must not undo it.
    Contact.objects.filter(line_user_id=FRIENDS[1]).update(line_status=LineStatus.BLOCKED)

    run_tasks()

    assert statuses(workspace) == {
        FRIENDS[0]: LineStatus.FOLLOWING,
        FRIENDS[1]: LineStatus.BLOCKED,
    }
    assert LinkCheck.objects.get().following == 1
