from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact, ContactTag, Event
from otodoke.contacts.tests.conftest import WriteCsv, follower, line_id
from otodoke.workspaces.models import Workspace


def test_reimporting_the_same_contacts_file_changes_nothing(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    follower(workspace, 3)
    path = write_csv(
        [
            [
                "顧客番号",
                "氏名",
                "携帯電話",
                "最終来店日",
                "来店回数",
                "タグ",
                "LINEユーザーID",
                "担当",
            ],
            ["1", "山田 花子", "09012345678", "2024/3/1", "3", "VIP,カラー", line_id(3), "佐藤"],
            ["2", "田中 一郎", "", "", "", "", "", ""],
        ],
    )
    first = run_import(workspace, "contacts", path, mapping={"担当": "attributes.staff"})
    assert (first.created, first.merged, first.error_count) == (2, 1, 0)
    before = {
        c.pk: (c.updated_at, c.baseline_at, c.visit_count, c.attributes, c.line_user_id)
        for c in Contact.objects.all()
    }
    tags_before = list(ContactTag.objects.values_list("contact_id", "tag_id", "added_at"))

    second = run_import(workspace, "contacts", path, mapping={"担当": "attributes.staff"})

    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    after = {
        c.pk: (c.updated_at, c.baseline_at, c.visit_count, c.attributes, c.line_user_id)
        for c in Contact.objects.all()
    }
    assert after == before
    assert list(ContactTag.objects.values_list("contact_id", "tag_id", "added_at")) == tags_before
    assert before[Contact.objects.get(external_id="1").pk][3] == {"staff": "佐藤"}


def test_reimporting_the_same_events_file_changes_nothing(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    Contact.objects.create(workspace=workspace, external_id="1")
    path = write_csv(
        [
            ["伝票番号", "顧客番号", "種別", "日時", "金額", "メニュー"],
            ["T1", "1", "来店", "2024/03/01 10:00", "6600", "カット"],
            ["T2", "1", "購入", "2024/03/01 11:00", "3300", "シャンプー購入"],
        ]
    )
    first = run_import(workspace, "events", path)
    stored = list(Event.objects.order_by("pk").values())

    second = run_import(workspace, "events", path)

    assert (first.created, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert list(Event.objects.order_by("pk").values()) == stored
