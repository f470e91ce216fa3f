"""Item 22 from the contact page, in Chromium and in Japanese: staff unlink a LINE account, and
an owner deletes a contact after a confirmation that names what goes; an operator cannot."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from otodoke.campaigns.models import Delivery, DeliveryRecipient
from otodoke.campaigns.services import create_campaign
from otodoke.contacts.models import Contact, Event, LineStatus, LinkedVia
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser

HANAKO = "U" + "a1" * 16


def customer(workspace: Workspace) -> Contact:
    contact = Contact.objects.create(
        workspace=workspace,
        external_id="C-1001",
        name="山田花子",
        phone="+819012345678",
        line_user_id=HANAKO,
        line_status=LineStatus.FOLLOWING,
        line_followed_at=timezone.now(),
        line_linked_at=timezone.now(),
        line_linked_via=LinkedVia.ACCOUNT_LINK,
    )
    Event.objects.create(
        workspace=workspace, contact=contact, kind="visit", occurred_at=timezone.now()
    )
    return contact


def test_staff_unlink_the_line_account_from_the_contact_page(
    workspace: Workspace, page_as: Callable[..., Page], live_server: object
) -> None:
    contact = customer(workspace)
    page = page_as(Role.OPERATOR)
    page.goto(f"{live_server}/w/salon/contacts/{contact.pk}/")
    expect(page.get_by_test_id("delete-contact")).to_have_count(0)  # operators cannot delete

    page.get_by_test_id("unlink").get_by_role("button", name="LINE 連携を解除").click()

    expect(page.get_by_text("LINE 連携を解除しました")).to_be_visible()
    expect(page.get_by_test_id("unlink")).to_have_count(0)
    contact.refresh_from_db()
    assert contact.line_user_id is None and contact.name == "山田花子"
    friend = Contact.objects.get(workspace=workspace, line_user_id=HANAKO)
    assert friend.is_line_only and friend.line_status == LineStatus.FOLLOWING
    entry = AuditLog.objects.get(action=AuditAction.CONTACT_UNLINKED)
    assert entry.actor_label == "operator"


def test_owner_deletes_a_contact_after_a_confirmation_naming_what_goes(
    workspace: Workspace, page_as: Callable[..., Page], live_server: object
) -> None:
    contact = customer(workspace)
    campaign = create_campaign(
        workspace,
        name="spring",
        messages=[{"type": "text", "text": "春"}],
        target={"include": [{"contacts": [contact.pk]}]},
        actor=None,
    )
    delivery = Delivery.objects.create(campaign=campaign, status="done", total=1, sent=1)
    DeliveryRecipient.objects.create(
        delivery=delivery, contact_id=contact.pk, line_user_id=HANAKO, status="sent"
    )
    page = page_as(Role.OWNER)
    page.goto(f"{live_server}/w/salon/contacts/{contact.pk}/")

    page.get_by_test_id("delete-contact").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("山田花子 を削除しますか？")
    deleted = page.get_by_test_id("deleted-items")
    expect(deleted).to_contain_text("氏名")
    expect(deleted).to_contain_text("C-1001")
    expect(deleted).to_contain_text("行動履歴 1 件")
    expect(deleted).to_contain_text("LINE ユーザー ID")
    expect(page.get_by_test_id("delete-confirmation")).to_contain_text("1 件の配信結果")
    assert Contact.objects.filter(pk=contact.pk).exists()  # nothing happens before the confirm

    page.get_by_test_id("delete-contact-confirm").get_by_role("button").click()

    expect(page).to_have_url(re.compile(r"/w/salon/contacts/$"))
    expect(page.get_by_text("山田花子 を個人情報とともに削除しました")).to_be_visible()
    assert not Contact.objects.filter(pk=contact.pk).exists()
    recipient = DeliveryRecipient.objects.get(delivery=delivery)
    assert (recipient.status, recipient.line_user_id) == ("sent", "")
    entry = AuditLog.objects.get(action=AuditAction.CONTACT_DELETED)
    assert (entry.actor_label, entry.target) == ("owner", f"contact {contact.pk}")
    assert "山田花子" not in str(entry.details)


def test_operators_and_viewers_cannot_open_or_post_the_deletion(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = customer(workspace)
    for role in (Role.OPERATOR, Role.VIEWER):
        client = client_as(role)
        url = f"/w/salon/contacts/{contact.pk}/delete/"
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
    assert client_as(Role.VIEWER).post(f"/w/salon/contacts/{contact.pk}/unlink/").status_code == 403
    assert Contact.objects.filter(pk=contact.pk, line_user_id=HANAKO).exists()
    manager = client_as(Role.MANAGER)
    assert manager.get(f"/w/salon/contacts/{contact.pk}/delete/").status_code == 200
