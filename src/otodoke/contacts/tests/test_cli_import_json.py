import io
import json

import pytest
from django.core.management import CommandError, call_command

from otodoke.contacts.models import Contact, Event
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import AuditLog, Workspace


def run(*args: str) -> dict[str, object]:
    out = io.StringIO()
    call_command("import", *args, "--json", stdout=out)
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_cli_imports_contacts_then_events_and_prints_a_json_summary(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    contacts = write_csv(
        [["顧客番号", "氏名", "電話番号", "担当"], ["1", "山田 花子", "09012345678", "佐藤"],
         ["2", "悪い 番号", "0", ""]],
        encoding="cp932", name="customers.csv",
    )  # fmt: skip
    events = write_csv(
        [["伝票番号", "顧客番号", "来店日時", "金額", "メニュー"],
         ["T1", "1", "2024/03/01 10:00", "6,600", "カット"]],
        name="visits.csv",
    )  # fmt: skip

    summary = run(
        "contacts", str(contacts), "--workspace", "salon", "--map", "担当=attributes",
        "--allow-errors",  # one bad row: imported anyway, exit 0 as asked
    )  # fmt: skip
    assert summary["created"] == 1
    assert summary["error_count"] == 1
    assert summary["errors"] == [
        {"row": 3, "column": "電話番号", "message": summary["errors"][0]["message"]}  # type: ignore[index]
    ]
    assert Contact.objects.get(external_id="1").attributes == {"担当": "佐藤"}

    summary = run("events", str(events), "--workspace", "salon")
    assert (summary["created"], summary["error_count"]) == (1, 0)
    event = Event.objects.get()
    assert (event.kind, event.amount, event.properties) == ("visit", 6600, {"item": "カット"})
    assert Contact.objects.get(external_id="1").visit_count == 1
    assert AuditLog.objects.filter(action="import").count() == 2


def test_cli_dry_run_writes_nothing(workspace: Workspace, write_csv: WriteCsv) -> None:
    path = write_csv([["顧客番号", "氏名"], ["1", "山田"]])

    summary = run("contacts", str(path), "--workspace", "salon", "--dry-run")

    assert (summary["created"], summary["dry_run"]) == (1, True)
    assert not Contact.objects.exists()


def test_cli_rejects_a_file_without_a_customer_number_column(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv([["氏名"], ["山田"]])

    with pytest.raises(CommandError):
        run("contacts", str(path), "--workspace", "salon")
