from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace


def test_utf8_file_with_bom_imports_and_english_headers_map(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv(
        [
            ["customer_id", "name", "gender", "birthday", "prefecture", "phone", "email"],
            ["A-1", "Ito Ken", "male", "19900102", "Osaka", "06-6123-4567", "ken@example.com"],
        ],
        encoding="utf-8-sig",
    )
    path.write_bytes(path.read_bytes().replace(b"Osaka", "大阪".encode()))

    report = run_import(workspace, "contacts", path)

    assert report.encoding == "utf-8-sig"
    assert (report.created, report.error_count) == (1, 0)
    ken = Contact.objects.get(workspace=workspace, external_id="A-1")
    assert (ken.prefecture, ken.phone) == ("大阪府", "+81661234567")


def test_plain_utf8_is_detected(workspace: Workspace, write_csv: WriteCsv) -> None:
    path = write_csv([["会員番号", "名前"], ["7", "鈴木 一郎"]])

    report = run_import(workspace, "contacts", path)

    assert report.encoding == "utf-8"
    assert Contact.objects.get(external_id="7").name == "鈴木 一郎"
