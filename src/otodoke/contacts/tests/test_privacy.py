"""Item 22: unlinking a LINE account and deleting a contact on request (UI in its own browser
test). Deletion leaves nothing personal in any table while campaign results, click totals and
the audit trail stay right; both through the API and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.core import serializers
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from otodoke.api.tests.conftest import ApiClient, api, error_of  # noqa: F401
from otodoke.campaigns import services as campaigns
from otodoke.campaigns.models import Delivery, DeliveryKind, DeliveryRecipient, DeliveryStatus
from otodoke.contacts import privacy
from otodoke.contacts.models import Contact, ContactTag, Event, LineStatus, LinkedVia
from otodoke.contacts.tagging import LINE_TAG, add_tags
from otodoke.line.models import IssuedLinkToken, MissingProfile, WebhookEvent
from otodoke.segments.models import Audience, AudienceMember
from otodoke.segments.services import contacts_matching
from otodoke.tracking.models import Click
from otodoke.tracking.services import create_tracked_link, record_click
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role

pytestmark = pytest.mark.django_db

USER_ID = "U" + "a1" * 16
OTHER_ID = "U" + "b2" * 16
PII = ("山田花子", "ヤマダハナコ", "+819012345678", "hanako@example.jp", USER_ID, "C-1001")
YEARLY = {
    "version": 1,
    "where": {"kind": "attribute", "key": "コース", "op": "equals", "value": "年間契約"},
}


def linked_customer(workspace: Workspace) -> Contact:
    contact = Contact.objects.create(
        workspace=workspace,
        external_id="C-1001",
        name="山田花子",
        name_kana="ヤマダハナコ",
        phone="+819012345678",
        email="hanako@example.jp",
        birth_date=timezone.now().date().replace(year=1990),
        attributes={"コース": "年間契約", "メモ": "山田花子 様"},
        line_user_id=USER_ID,
        line_status=LineStatus.FOLLOWING,
        line_followed_at=timezone.now() - timedelta(days=3),
        line_display_name="はなこ",
        line_linked_at=timezone.now() - timedelta(days=1),
        line_linked_via=LinkedVia.ACCOUNT_LINK,
        marketing_consent=False,
    )
    add_tags(workspace, [contact.pk], [LINE_TAG, "VIP"], source="manual")
    return contact


@pytest.fixture
def person(workspace: Workspace) -> dict[str, Any]:
    """A customer with a trail everywhere: events, tags, an audience, a click, a campaign
    they received, a stored webhook and a link token; and someone else like them."""
    contact = linked_customer(workspace)
    other = Contact.objects.create(
        workspace=workspace,
        external_id="C-2002",
        name="佐藤",
        attributes={"コース": "年間契約"},
        line_user_id=OTHER_ID,
        line_status=LineStatus.FOLLOWING,
    )
    Event.objects.create(
        workspace=workspace,
        contact=contact,
        kind="purchase",
        occurred_at=timezone.now(),
        amount=5500,
        properties={"items": ["シャンプー"], "staff_note": "山田花子 様 ご来店"},
    )
    audience = Audience.objects.create(workspace=workspace, name="春", source="segment", size=2)
    AudienceMember.objects.bulk_create(
        [AudienceMember(audience=audience, contact=c) for c in (contact, other)]
    )
    link = create_tracked_link(workspace, "https://example.jp/spring")
    record_click(link, contact=contact, user_agent="Line/13.0 hanako-phone")
    record_click(link, contact=other)
    campaign = campaigns.create_campaign(
        workspace,
        name="spring",
        messages=[{"type": "text", "text": "春"}],
        target={"include": [{"contacts": [contact.pk, other.pk]}]},
        actor=None,
    )
    delivery = Delivery.objects.create(
        campaign=campaign,
        kind=DeliveryKind.LIVE,
        status=DeliveryStatus.DONE,
        total=2,
        eligible=2,
        sent=2,
        frozen_at=timezone.now(),
    )
    DeliveryRecipient.objects.bulk_create(
        [
            DeliveryRecipient(
                delivery=delivery, contact_id=c.pk, line_user_id=str(c.line_user_id), status="sent"
            )
            for c in (contact, other)
        ]
    )
    WebhookEvent.objects.create(
        workspace=workspace,
        webhook_event_id="01ABC",
        event_type="message",
        raw={"type": "message", "source": {"userId": USER_ID}, "message": {"text": "山田花子です"}},
        source_user_id=USER_ID,
        timestamp=timezone.now(),
    )
    IssuedLinkToken.objects.create(
        workspace=workspace,
        line_user_id=USER_ID,
        token="tok",
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    # A profile fetch that failed at their follow, waiting for its retry (issue 12.28).
    MissingProfile.objects.create(workspace=workspace, line_user_id=USER_ID, attempts=1)
    return {"contact": contact, "other": other, "delivery": delivery, "link": link, "aud": audience}


def everything_stored() -> str:
    """Every row of every table, as text."""
    chunks = []
    for model in apps.get_models():
        if model._meta.app_label in {"contacts", "campaigns", "line", "segments", "tracking",
                                     "workspaces", "api"}:  # fmt: skip
            chunks.append(serializers.serialize("json", model._default_manager.all()))
    return "\n".join(chunks)


def assert_deleted_with_aggregates_kept(workspace: Workspace, person: dict[str, Any]) -> None:
    contact, delivery = person["contact"], person["delivery"]
    assert not Contact.objects.filter(pk=contact.pk).exists()
    stored = everything_stored()
    for value in PII:
        assert value not in stored, value
    # Campaign results stay as they were: two recipients, both sent.
    delivery.refresh_from_db()
    assert (delivery.total, delivery.sent) == (2, 2)
    rows = DeliveryRecipient.objects.filter(delivery=delivery)
    assert sorted(r.status for r in rows) == ["sent", "sent"]
    # The link still counts both clicks; one no longer names anyone.
    clicks = Click.objects.filter(link=person["link"])
    assert clicks.count() == 2 and clicks.filter(contact__isnull=True).count() == 1
    # Segments and audiences no longer count the person.
    assert list(contacts_matching(workspace, YEARLY).values_list("pk", flat=True)) == [
        person["other"].pk
    ]
    person["aud"].refresh_from_db()
    assert person["aud"].size == 1
    assert not Event.objects.filter(contact_id=contact.pk).exists()
    assert not ContactTag.objects.filter(contact_id=contact.pk).exists()
    entry = AuditLog.objects.get(workspace=workspace, action=AuditAction.CONTACT_DELETED)
    assert entry.target == f"contact {contact.pk}"
    assert entry.details["contact"] == contact.pk
    assert entry.details["customer_number_hmac"] == privacy.customer_number_hash(
        workspace, "C-1001"
    )
    assert entry.details["removed"]["events"] == 1
    assert entry.details["removed"]["webhook_events"] == 1
    assert entry.details["removed"]["clicks_anonymised"] == 1


def test_delete_over_the_api_erases_the_person_and_keeps_every_aggregate(
    workspace: Workspace,
    person: dict[str, Any],
    api: Callable[..., ApiClient],  # noqa: F811
) -> None:
    contact = person["contact"]
    assert PII[0] in everything_stored()  # the scan would see the name if it were left

    response = api("read", "delete").delete(f"/api/v1/contacts/{contact.pk}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["contact"] == contact.pk and body["deleted"] is True
    assert body["removed"]["events"] == 1
    assert_deleted_with_aggregates_kept(workspace, person)
    label = AuditLog.objects.get(action=AuditAction.CONTACT_DELETED).actor_label
    assert label.startswith("api:test")


def test_delete_needs_the_delete_scope_and_changes_nothing_without_it(
    workspace: Workspace,
    person: dict[str, Any],
    api: Callable[..., ApiClient],  # noqa: F811
) -> None:
    contact = person["contact"]
    response = api("read", "write", "pii").delete(f"/api/v1/contacts/{contact.pk}")
    assert response.status_code == 403
    assert error_of(response)["code"] == "missing_scope"
    assert Contact.objects.filter(pk=contact.pk, name="山田花子").exists()
    assert not AuditLog.objects.filter(action=AuditAction.CONTACT_DELETED).exists()
    missing = api("delete").delete("/api/v1/contacts/999999")
    assert missing.status_code == 404


def run_cli(*args: str) -> Any:
    out = io.StringIO()
    call_command("contact", *args, "--workspace", workspace_slug(), "--json", stdout=out)
    return json.loads(out.getvalue())


def workspace_slug() -> str:
    return str(Workspace.objects.get().slug)


def test_cli_delete_asks_for_yes_then_erases_like_the_api(
    workspace: Workspace, person: dict[str, Any]
) -> None:
    contact = person["contact"]
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "contact", "delete", str(contact.pk), "--workspace", workspace.slug, "--json",
            stdout=out,
        )  # fmt: skip
    assert "--yes" in json.loads(out.getvalue())["error"]["message"]
    assert Contact.objects.filter(pk=contact.pk).exists()

    result = run_cli("delete", str(contact.pk), "--yes")

    assert result["contact"] == contact.pk and result["deleted"] is True
    assert_deleted_with_aggregates_kept(workspace, person)
    assert AuditLog.objects.get(action=AuditAction.CONTACT_DELETED).actor_label == "cli"


def test_only_owners_and_managers_may_delete(workspace: Workspace, person: dict[str, Any]) -> None:
    operator = User.objects.create_user("op")
    manager = User.objects.create_user("mgr")
    set_member_role(workspace, operator, Role.OPERATOR, actor=None)
    set_member_role(workspace, manager, Role.MANAGER, actor=None)
    with pytest.raises(PermissionDenied):
        privacy.delete_contact(workspace, person["contact"], actor=operator)
    assert Contact.objects.filter(pk=person["contact"].pk).exists()
    privacy.delete_contact(workspace, person["contact"], actor=manager)
    entry = AuditLog.objects.get(action=AuditAction.CONTACT_DELETED)
    assert (entry.actor_id, entry.actor_label) == (manager.pk, "mgr")


def test_unlink_over_the_api_keeps_the_customer_and_leaves_a_friend_only_contact(
    workspace: Workspace,
    api: Callable[..., ApiClient],  # noqa: F811
) -> None:
    contact = linked_customer(workspace)
    client = api("read", "write")

    response = client.post(f"/api/v1/contacts/{contact.pk}/unlink", {})

    assert response.status_code == 200, response.content
    friend_id = response.json()["friend_contact"]
    contact.refresh_from_db()
    assert (contact.external_id, contact.name, contact.phone) == (
        "C-1001",
        "山田花子",
        "+819012345678",
    )
    assert (contact.line_user_id, contact.line_status, contact.line_linked_at) == (
        None,
        LineStatus.NONE,
        None,
    )
    names = set(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True))
    assert names == {"VIP"}
    friend = Contact.objects.get(pk=friend_id)
    assert friend.is_line_only and friend.line_user_id == USER_ID
    assert (friend.line_status, friend.line_display_name) == (LineStatus.FOLLOWING, "はなこ")
    assert friend.marketing_consent is False  # an opt-out survives the unlink
    assert friend.name == "" and friend.phone == ""
    entry = AuditLog.objects.get(action=AuditAction.CONTACT_UNLINKED)
    assert entry.details == {
        "contact": contact.pk,
        "friend_contact": friend.pk,
        "by_customer": False,
    }

    again = client.post(f"/api/v1/contacts/{contact.pk}/unlink", {})
    assert again.status_code == 409
    assert error_of(again)["code"] == "not_linked"
    assert Contact.objects.filter(workspace=workspace).count() == 2


def test_cli_unlink(workspace: Workspace) -> None:
    contact = linked_customer(workspace)
    result = run_cli("unlink", str(contact.pk))
    friend = Contact.objects.get(pk=result["friend_contact"])
    assert friend.line_user_id == USER_ID
    assert Contact.objects.get(pk=contact.pk).line_user_id is None
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "contact", "unlink", str(friend.pk), "--workspace", workspace.slug, "--json",
            stdout=out,
        )  # fmt: skip
    assert json.loads(out.getvalue())["error"]["code"] == "not_linked"
