from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace


def test_good_rows_land_and_each_bad_row_is_reported_with_line_and_column(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv(
        [
            ["顧客番号", "氏名", "電話番号", "生年月日", "都道府県", "LINEユーザーID"],
            ["1", "良い 一", "090-1111-2222", "1990/1/2", "東京都", ""],
            ["2", "悪い 電話", "12345", "1990/1/2", "東京都", ""],
            ["3", "悪い 日付", "", "1990/13/40", "", ""],
            ["", "番号なし", "", "", "", ""],
            ["5", "悪い 県", "", "", "ニューヨーク", "Uxyz"],
            ["6", "良い 六", "", "", "北海道", "U" + "a" * 32],
            ["1", "重複", "", "", "", ""],
        ]
    )

    report = run_import(workspace, "contacts", path)

    assert report.created == 2
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"1", "6"}
    found = {(e.row, e.column) for e in report.errors}
    assert found == {
        (3, "電話番号"),
        (4, "生年月日"),
        (5, "顧客番号"),
        (6, "都道府県"),
        (6, "LINEユーザーID"),
        (8, "顧客番号"),
    }
    assert report.error_count == 6
    assert all(e.message for e in report.errors)


def test_a_row_whose_line_id_belongs_to_another_customer_is_rejected_whole(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    taken = "U" + "b" * 32
    Contact.objects.create(workspace=workspace, external_id="9", line_user_id=taken)
    path = write_csv([["顧客番号", "氏名", "LINEユーザーID"], ["10", "新しい 人", taken]])

    report = run_import(workspace, "contacts", path)

    assert [(e.row, e.column) for e in report.errors] == [(2, "LINEユーザーID")]
    # Nothing half-way: the row's other cells did not land either.
    assert not Contact.objects.filter(external_id="10").exists()


def test_messages_are_japanese_by_default(workspace: Workspace, write_csv: WriteCsv) -> None:
    path = write_csv([["顧客番号", "電話番号"], ["1", "abc"]])

    report = run_import(workspace, "contacts", path)

    assert "電話番号" in report.errors[0].message
