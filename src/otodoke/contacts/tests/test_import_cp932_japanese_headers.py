from datetime import date

from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact, Gender
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace

HEADER = ["顧客番号", "氏名", "フリガナ", "性別", "生年月日", "住所", "携帯電話", "メールアドレス",
          "最終来店日", "来店回数", "累計購入金額", "配信許可"]  # fmt: skip


def test_cp932_file_with_japanese_headers_imports(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv(
        [
            HEADER,
            [
                "1001",
                "山田 花子",
                "ヤマダ ハナコ",
                "女",
                "平成2年1月2日",
                "神奈川県横浜市西区1-2",
                "090-1234-5678",
                "Hanako@Example.JP",
                "2024/3/1",
                "12",
                "58,000",
                "○",
            ],
            [
                "1002",
                "佐藤 太郎",
                "サトウ タロウ",
                "男性",
                "1985/12/31",
                "東京都渋谷区",
                "０８０１１１１２２２２",
                "",
                "",
                "",
                "",
                "×",
            ],
        ],
        encoding="cp932",
    )

    report = run_import(workspace, "contacts", path)

    assert report.encoding == "cp932"
    assert (report.created, report.error_count) == (2, 0)
    hanako = Contact.objects.get(workspace=workspace, external_id="1001")
    assert hanako.name == "山田 花子"
    assert hanako.name_kana == "ヤマダ ハナコ"
    assert hanako.gender == Gender.FEMALE
    assert hanako.birth_date == date(1990, 1, 2)
    assert hanako.prefecture == "神奈川県"
    assert hanako.phone == "+819012345678"
    assert hanako.email == "Hanako@example.jp"
    assert hanako.visit_count == 12
    assert hanako.total_spent == 58000
    assert hanako.last_visit_at is not None
    assert hanako.last_visit_at.astimezone(workspace.tzinfo).date() == date(2024, 3, 1)
    assert hanako.marketing_consent is True
    taro = Contact.objects.get(workspace=workspace, external_id="1002")
    assert (taro.gender, taro.prefecture, taro.phone) == (Gender.MALE, "東京都", "+818011112222")
    assert taro.marketing_consent is False
    assert taro.consent_updated_at is not None
