"""Issue 15 "Done when": editing a contact's tags in Chromium, in Japanese: the workspace's
tags are suggested, a tag is added and another removed, and consent is changed with its
history shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from otodoke.contacts.models import ConsentChange, Contact, ContactTag, Tag, TagSource
from otodoke.contacts.tagging import add_tags
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


def test_staff_add_and_remove_a_contacts_tags_in_chromium(
    workspace: Workspace, page_as: Callable[..., Page], live_server: object
) -> None:
    contact = Contact.objects.create(workspace=workspace, external_id="C-1", name="山田花子")
    add_tags(workspace, [contact.pk], ["VIP"], source=TagSource.IMPORT)
    Tag.objects.create(workspace=workspace, name="カット会員")
    page = page_as(Role.OPERATOR)
    page.goto(f"{live_server}/w/salon/contacts/{contact.pk}/")

    tags = page.get_by_test_id("tags")
    expect(tags.get_by_test_id("tag")).to_have_count(1)
    expect(tags.get_by_test_id("tag")).to_contain_text("VIP")
    suggestions = page.locator("#tag-suggestions option")
    expect(suggestions).to_have_count(2)
    page.get_by_label("タグを付ける").fill("カット会員")
    page.get_by_test_id("tag-add").get_by_role("button", name="追加").click()

    expect(page.get_by_text("タグ「カット会員」を付けました。")).to_be_visible()
    expect(tags.get_by_test_id("tag")).to_have_count(2)
    page.get_by_role("button", name="タグ「VIP」を外す").click()

    expect(page.get_by_text("タグ「VIP」を外しました。")).to_be_visible()
    expect(tags.get_by_test_id("tag")).to_have_count(1)
    expect(tags.get_by_test_id("tag")).to_contain_text("カット会員")
    names = ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True)
    assert list(names) == ["カット会員"]

    page.get_by_label("配信許可", exact=True).select_option("no")
    page.get_by_role("button", name="配信許可を変更").click()
    expect(page.get_by_test_id("consent")).to_have_text("配信停止")
    expect(page.get_by_test_id("consent-history")).to_contain_text("operator · 配信停止にしました")
    assert ConsentChange.objects.get(contact=contact).changed_by_label == "operator"


def test_staff_edit_fields_and_attributes_in_chromium(
    workspace: Workspace, page_as: Callable[..., Page], live_server: object
) -> None:
    contact = Contact.objects.create(
        workspace=workspace, external_id="C-1", name="山田花子", attributes={"担当": "佐藤"}
    )
    page = page_as(Role.OWNER)
    page.goto(f"{live_server}/w/salon/contacts/{contact.pk}/")
    page.get_by_test_id("edit-contact").click()

    page.get_by_label("電話番号").fill("070-1952-9228")
    page.get_by_label("値 1").fill("鈴木")
    page.get_by_label("属性名 2").fill("好きな色")
    page.get_by_label("値 2").fill("緑")
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_text("連絡先を保存しました。")).to_be_visible()
    contact.refresh_from_db()
    assert contact.phone == "+817019529228"
    assert contact.name == "山田花子" and contact.external_id == "C-1"  # shown, so kept
    assert contact.attributes == {"担当": "鈴木", "好きな色": "緑"}
