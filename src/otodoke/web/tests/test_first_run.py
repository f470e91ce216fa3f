"""The dashboard's guided first run: the steps in order (connect the channel, import customers,
link them), each done when the data says so, the next one one click away, and gone once all
are done."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.test import Client
from django.utils import timezone

from otodoke.contacts.models import Contact, LineStatus
from otodoke.line.models import WebhookEvent
from otodoke.web.dashboard import friend_counts
from otodoke.web.first_run import first_run_steps
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

DASHBOARD = "/w/salon/"


def states(workspace: Workspace) -> dict[str, str]:
    steps = first_run_steps(workspace, friend_counts(workspace))
    return {s.key: "done" if s.done else "next" if s.next else "todo" for s in steps}


def page_states(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-testid="step-(\w+)" data-state="(\w+)"', page))


def test_a_new_workspace_starts_with_the_channel_and_its_webhook_url(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    page = client_as(Role.OWNER).get(DASHBOARD).content.decode()
    assert page_states(page) == {"channel": "next", "import": "todo", "link": "todo"}
    assert workspace.webhook_url() in page
    assert 'data-testid="first-run-verify"' in page
    assert "LINEチャネルを接続する" in page


def test_each_step_is_done_by_what_happened_and_the_next_one_moves_on(
    workspace: Workspace,
) -> None:
    WebhookEvent.objects.create(
        workspace=workspace,
        webhook_event_id="01TEST",
        event_type="follow",
        raw={},
        timestamp=timezone.now(),
    )
    assert states(workspace) == {"channel": "done", "import": "next", "link": "todo"}
    Contact.objects.create(workspace=workspace, external_id="C-1", name="山田花子")
    assert states(workspace) == {"channel": "done", "import": "done", "link": "next"}
    Contact.objects.filter(external_id="C-1").update(
        line_user_id="U" + "1" * 32, line_status=LineStatus.FOLLOWING
    )
    assert states(workspace) == {}


def test_a_following_friend_counts_as_a_connected_channel(workspace: Workspace) -> None:
    Contact.objects.create(
        workspace=workspace, line_user_id="U" + "2" * 32, line_status=LineStatus.FOLLOWING
    )
    assert states(workspace)["channel"] == "done"


def test_the_next_step_is_one_click_to_the_right_page(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    owner = client_as(Role.OWNER)
    Contact.objects.create(
        workspace=workspace, line_user_id="U" + "3" * 32, line_status=LineStatus.FOLLOWING
    )
    Contact.objects.create(workspace=workspace, external_id="C-1", name="山田花子")
    page = owner.get(DASHBOARD).content.decode()
    assert page_states(page) == {"channel": "done", "import": "done", "link": "next"}
    link = re.search(r'href="([^"]+)" data-testid="step-link-action"', page)
    assert link is not None and link.group(1) == "/w/salon/contacts/import/?kind=links"
    upload = owner.get(link.group(1)).content.decode()
    assert re.search(r'<option value="links" selected>', upload)


def test_the_verify_button_answers_in_place(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    response = client_as(Role.OWNER).post(
        "/w/salon/settings/channel/verify/", headers={"HX-Request": "true"}
    )
    assert response.text.strip().startswith('<div id="verify"')
    assert 'data-testid="verify-result"' in response.text


def test_a_viewer_sees_the_steps_without_actions_they_cannot_take(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    page = client_as(Role.VIEWER).get(DASHBOARD).content.decode()
    assert page_states(page)["channel"] == "next"
    assert 'data-testid="first-run-verify"' not in page
    assert 'data-testid="step-import-action"' not in page


def test_a_workspace_with_everything_done_shows_no_first_run(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    Contact.objects.create(
        workspace=workspace,
        external_id="C-1",
        line_user_id="U" + "4" * 32,
        line_status=LineStatus.FOLLOWING,
    )
    assert 'data-testid="first-run"' not in client_as(Role.OWNER).get(DASHBOARD).content.decode()
