"""Starting account linking from our side: the friend gets a LINE message (checked in the
emulator's record of what that friend received) whose button opens our verification page, and
following it links and merges. Staff start it from the contact page or the CLI."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from line_emulator.testing import EmulatorServer
from otodoke.contacts.models import Contact, LinkedVia
from otodoke.line.invites import LinkInviteRefused, send_link_invite
from otodoke.line.models import WebhookEvent, WebhookStatus
from otodoke.line.tests.conftest import LINKING_USER, run_tasks, submit
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role

pytestmark = pytest.mark.django_db(transaction=True)

USER = LINKING_USER


def received(control: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    """The messages the emulator delivered to this friend, oldest first."""
    response = control.get(f"/friends/{user_id}/messages")
    assert response.status_code == 200, response.text
    return [m for record in response.json()["received"] for m in record["messages"]]


def invite_link(message: dict[str, Any]) -> str:
    assert message["type"] == "template"
    (action,) = message["template"]["actions"]
    assert action["type"] == "uri"
    return str(action["uri"])


def test_invite_reaches_the_friend_and_its_link_links_and_merges(
    emulator: EmulatorServer,
    public_url: str,
    control: httpx.Client,
    customer: Contact,
    follower: Contact,
    workspace: Workspace,
) -> None:
    sent = send_link_invite(workspace, follower, label="test")

    (message,) = received(control, USER)
    link = invite_link(message)
    assert link == sent.url
    assert link.startswith(f"{public_url}/link/{workspace.slug}/?linkToken=")
    assert len(message["template"]["text"]) <= 160  # LINE's limit for a buttons template
    audit = AuditLog.objects.get(action=AuditAction.LINK_INVITED)
    assert audit.details["contact"] == follower.pk
    assert audit.details["request_id"] == sent.request_id != ""

    with httpx.Client(timeout=10) as browser:  # the friend taps the button
        answered = submit(browser, link, external_id="M-1001", phone="090-1234-5678")
        assert answered.status_code == 302
        assert browser.get(answered.headers["location"]).status_code == 200
    run_tasks()

    assert WebhookEvent.objects.get(event_type="accountLink").status == WebhookStatus.PROCESSED
    linked = Contact.objects.get(pk=customer.pk)
    assert linked.line_user_id == USER
    assert linked.line_linked_via == LinkedVia.ACCOUNT_LINK
    assert not Contact.objects.filter(pk=follower.pk).exists()


def test_a_blocked_friend_is_refused_and_nothing_is_sent(
    control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    control.post(f"/friends/{USER}/block")
    run_tasks()
    follower.refresh_from_db()

    with translation.override("en"), pytest.raises(LinkInviteRefused, match="blocked"):
        send_link_invite(workspace, follower)

    assert received(control, USER) == []
    assert not AuditLog.objects.filter(action=AuditAction.LINK_INVITED).exists()


def test_an_already_linked_contact_is_refused(
    control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    Contact.objects.filter(pk=follower.pk).update(external_id="M-2002")
    follower.refresh_from_db()

    with translation.override("en"), pytest.raises(LinkInviteRefused, match="already linked"):
        send_link_invite(workspace, follower)

    assert received(control, USER) == []


def test_cli_invites_by_line_user_id_and_prints_json(
    public_url: str, control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    out = StringIO()
    call_command(
        "line",
        "link-invite",
        "--workspace",
        workspace.slug,
        "--line-user-id",
        USER,
        "--json",
        stdout=out,
    )

    result = json.loads(out.getvalue())
    assert result["contact_id"] == follower.pk
    (message,) = received(control, USER)
    assert invite_link(message) == result["url"]
    assert AuditLog.objects.get(action=AuditAction.LINK_INVITED).actor_label == "cli"


def test_cli_refuses_a_blocked_contact_with_the_reason(
    control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    control.post(f"/friends/{USER}/block")
    run_tasks()

    with translation.override("en"), pytest.raises(CommandError, match="blocked"):
        call_command(
            "line", "link-invite", "--workspace", workspace.slug, "--contact", str(follower.pk)
        )
    assert received(control, USER) == []


def member(workspace: Workspace, role: Role) -> Client:
    user = User.objects.create_user(role.value)
    set_member_role(workspace, user, role, actor=None)
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.force_login(user)
    return client


def test_contact_page_button_sends_the_invitation_for_members_who_may_send(
    public_url: str, control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    page_url = f"/w/{workspace.slug}/contacts/{follower.pk}/"
    operator = member(workspace, Role.OPERATOR)
    assert 'data-testid="link-invite"' in operator.get(page_url).content.decode()

    response = operator.post(f"{page_url}link-invite/", follow=True)

    assert response.status_code == 200
    assert 'class="flash success"' in response.content.decode()
    (message,) = received(control, USER)
    assert invite_link(message).startswith(f"{public_url}/link/{workspace.slug}/")
    assert AuditLog.objects.get(action=AuditAction.LINK_INVITED).actor_label == "operator"


def test_viewer_sees_no_button_and_cannot_invite(
    control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    page_url = f"/w/{workspace.slug}/contacts/{follower.pk}/"
    viewer = member(workspace, Role.VIEWER)
    assert 'data-testid="link-invite"' not in viewer.get(page_url).content.decode()

    assert viewer.post(f"{page_url}link-invite/").status_code == 403
    assert received(control, USER) == []


def test_no_button_for_a_blocked_friend(
    control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    control.post(f"/friends/{USER}/block")
    run_tasks()
    page = member(workspace, Role.OWNER).get(f"/w/{workspace.slug}/contacts/{follower.pk}/")
    assert 'data-testid="link-invite"' not in page.content.decode()


def test_a_friend_who_sends_the_keyword_gets_the_invitation(
    public_url: str, control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")

    control.post(f"/friends/{USER}/message", json={"text": " 会員連携 "})
    run_tasks()  # processes the message, which enqueues the invitation
    run_tasks()

    (message,) = received(control, USER)
    assert invite_link(message).startswith(f"{public_url}/link/{workspace.slug}/?linkToken=")
    assert AuditLog.objects.get(action=AuditAction.LINK_INVITED).actor_label == "keyword"
    stored = WebhookEvent.objects.get(event_type="message")
    assert "invitation requested" in stored.outcome


def test_other_messages_and_workspaces_without_a_keyword_send_nothing(
    control: httpx.Client, follower: Contact, workspace: Workspace
) -> None:
    control.post(f"/friends/{USER}/message", json={"text": "会員連携"})  # no keyword set
    run_tasks()
    Workspace.objects.filter(pk=workspace.pk).update(link_keyword="会員連携")
    control.post(f"/friends/{USER}/message", json={"text": "会員連携したいです"})
    run_tasks()
    run_tasks()

    assert received(control, USER) == []
    assert not AuditLog.objects.filter(action=AuditAction.LINK_INVITED).exists()


def test_owner_sets_the_keyword_in_general_settings(workspace: Workspace) -> None:
    owner = member(workspace, Role.OWNER)

    response = owner.post(
        f"/w/{workspace.slug}/settings/",
        {"plan": workspace.plan, "time_zone": "Asia/Tokyo", "link_keyword": "会員連携"},
    )

    assert response.status_code == 302
    assert Workspace.objects.get(pk=workspace.pk).link_keyword == "会員連携"
    entry = AuditLog.objects.get(action=AuditAction.SETTINGS_CHANGED)
    assert entry.details == {"link_keyword": ["", "会員連携"]}
