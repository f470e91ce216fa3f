"""Editing a contact from its page (issue 15.2): fields with the importer's rules, custom
attributes, tags, consent with its history; EDIT to change anything, VIEW_PII for phone and
e-mail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.test import Client

from otodoke.contacts.models import ConsentChange, Contact, ContactTag, Tag, TagSource
from otodoke.contacts.tagging import add_tags
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role


def hanako(workspace: Workspace) -> Contact:
    contact = Contact.objects.create(
        workspace=workspace,
        external_id="C-001",
        name="山田花子",
        phone="+819012345678",
        email="hanako@example.jp",
        attributes={"担当": "佐藤", "ポイント": 120},
    )
    add_tags(workspace, [contact.pk], ["VIP"], source=TagSource.IMPORT)
    return contact


def form_data(contact: Contact, **changes: str) -> dict[str, str]:
    data = {
        "external_id": contact.external_id or "",
        "name": contact.name,
        "name_kana": contact.name_kana,
        "gender": contact.gender,
        "birth_date": contact.birth_date.isoformat() if contact.birth_date else "",
        "prefecture": contact.prefecture,
        "phone": contact.phone,
        "email": contact.email,
    }
    for index, (key, value) in enumerate(contact.attributes.items()):
        data[f"attr_key_{index}"] = key
        data[f"attr_value_{index}"] = str(value)
    data.update(changes)
    return data


def edit_url(contact: Contact, what: str = "edit") -> str:
    return f"/w/salon/contacts/{contact.pk}/{what}/"


def test_manager_edits_fields_with_the_importers_cleaning(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    manager = client_as(Role.MANAGER)
    form_page = manager.get(edit_url(contact)).content.decode()
    assert 'value="山田花子"' in form_page and 'value="C-001"' in form_page
    assert 'value="担当"' in form_page and 'value="佐藤"' in form_page

    response = manager.post(
        edit_url(contact),
        form_data(
            contact,
            name="山田 花子",
            name_kana="ヤマダハナコ",
            gender="female",
            birth_date="平成2年4月1日",
            prefecture="東京",
            phone="０７０-１９５２-９２２８",
            email="Hanako@Example.JP",
            external_id="C-002",
        ),
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "山田 花子" and contact.name_kana == "ヤマダハナコ"
    assert contact.birth_date == date(1990, 4, 1)
    assert contact.prefecture == "東京都"
    assert contact.phone == "+817019529228"  # the importer's E.164, from full-width digits
    assert contact.email == "Hanako@example.jp"
    assert contact.external_id == "C-002"
    # Untouched attributes keep their imported types.
    assert contact.attributes == {"担当": "佐藤", "ポイント": 120}


def test_bad_values_are_named_in_japanese_and_nothing_is_saved(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    response = client_as(Role.OWNER).post(
        edit_url(contact),
        form_data(
            contact, name="変更", phone="12", prefecture="ニューヨーク", birth_date="2999-01-01"
        ),
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "正しい電話番号ではありません" in page
    assert "日本の都道府県ではありません" in page
    assert "生年月日 2999-01-01 が範囲外です" in page
    contact.refresh_from_db()
    assert contact.name == "山田花子" and contact.phone == "+819012345678"


def test_a_customer_number_of_another_contact_is_refused(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    Contact.objects.create(workspace=workspace, external_id="C-900", name="other")
    response = client_as(Role.OWNER).post(
        edit_url(contact), form_data(contact, external_id="C-900", name="変更")
    )

    assert response.status_code == 400
    assert "顧客番号 C-900 は別の連絡先で使われています" in response.content.decode()
    contact.refresh_from_db()
    assert contact.external_id == "C-001" and contact.name == "山田花子"


def test_custom_attributes_are_added_changed_and_removed(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    data = form_data(contact, attr_value_0="鈴木", attr_remove_1="on")
    data.update({"attr_key_2": "好きな色", "attr_value_2": "緑"})
    response = client_as(Role.OPERATOR).post(edit_url(contact), data)

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.attributes == {"担当": "鈴木", "好きな色": "緑"}


def test_a_value_without_a_name_or_a_duplicate_name_is_refused(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    data = form_data(contact)
    data.update({"attr_key_2": "", "attr_value_2": "緑", "attr_key_3": "担当", "attr_value_3": "x"})
    response = client_as(Role.OWNER).post(edit_url(contact), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert "この値に名前を付けてください" in page
    assert "「担当」はこの連絡先の属性としてすでにあります" in page
    contact.refresh_from_db()
    assert contact.attributes == {"担当": "佐藤", "ポイント": 120}


def test_without_view_pii_phone_and_email_are_neither_shown_nor_changed(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    operator = client_as(Role.OPERATOR)
    page = operator.get(edit_url(contact)).content.decode()
    assert "+819012345678" not in page and "hanako@example.jp" not in page
    assert 'name="phone"' not in page

    response = operator.post(
        edit_url(contact), form_data(contact, phone="07019529228", email="x@example.jp")
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.phone == "+819012345678" and contact.email == "hanako@example.jp"


def test_viewers_cannot_edit(workspace: Workspace, client_as: Callable[[Role], Client]) -> None:
    contact = hanako(workspace)
    viewer = client_as(Role.VIEWER)
    assert (
        'data-testid="edit-contact"' not in viewer.get(edit_url(contact, "")[:-1]).content.decode()
    )
    assert viewer.post(edit_url(contact), form_data(contact, name="x")).status_code == 403
    assert viewer.post(edit_url(contact, "tags/add"), {"name": "x"}).status_code == 403
    assert viewer.post(edit_url(contact, "consent"), {"consent": "no"}).status_code == 403
    contact.refresh_from_db()
    assert contact.name == "山田花子" and contact.marketing_consent
    assert not Tag.objects.filter(name="x").exists()


def test_tags_are_added_with_suggestions_and_removed(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    Tag.objects.create(workspace=workspace, name="新規")
    operator = client_as(Role.OPERATOR)
    page = operator.get(f"/w/salon/contacts/{contact.pk}/").content.decode()
    assert '<option value="新規">' in page  # the workspace's tags are suggested

    response = operator.post(edit_url(contact, "tags/add"), {"name": " 新規 "}, follow=True)
    assert "タグ「新規」を付けました" in response.content.decode()
    operator.post(edit_url(contact, "tags/remove"), {"name": "VIP"})

    tags = ContactTag.objects.filter(contact=contact).select_related("tag")
    assert [(t.tag.name, t.source) for t in tags] == [("新規", TagSource.MANUAL)]
    # Removing a tag from a contact keeps the tag for others.
    assert Tag.objects.filter(workspace=workspace, name="VIP").exists()


def test_an_empty_tag_name_is_refused(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    response = client_as(Role.OWNER).post(
        edit_url(contact, "tags/add"), {"name": "  "}, follow=True
    )
    assert "タグ名を入力してください" in response.content.decode()
    assert list(ContactTag.objects.filter(contact=contact).values_list("tag__name", flat=True)) == [
        "VIP"
    ]


def test_consent_changes_are_recorded_with_who_and_when(
    workspace: Workspace, client_as: Callable[[Role], Client]
) -> None:
    contact = hanako(workspace)
    operator = client_as(Role.OPERATOR)
    operator.post(edit_url(contact, "consent"), {"consent": "no"})
    operator.post(edit_url(contact, "consent"), {"consent": "no"})  # no change, no history
    client_as(Role.OWNER).post(edit_url(contact, "consent"), {"consent": "yes"})

    contact.refresh_from_db()
    assert contact.marketing_consent and contact.consent_updated_at is not None
    history = list(ConsentChange.objects.filter(contact=contact).order_by("changed_at", "id"))
    assert [(c.changed_by_label, c.consent) for c in history] == [
        ("operator", False),
        ("owner", True),
    ]
    page = operator.get(f"/w/salon/contacts/{contact.pk}/").content.decode()
    assert "operator · 配信停止にしました" in page and "owner · 同意しました" in page
