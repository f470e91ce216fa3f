"""The full error report: every rejected row (line, column, value excerpt, reason) goes to a
CSV file, however many there are, while the in-memory report keeps only the first ones."""

from __future__ import annotations

import csv
import json
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command

from otodoke.contacts.imports import run_import, runner
from otodoke.contacts.models import Contact
from otodoke.contacts.tests.conftest import WriteCsv, line_id
from otodoke.workspaces.models import Workspace


def read_report(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens the Japanese as it is
    return list(csv.reader(StringIO(raw.decode("utf-8-sig"))))


def test_a_file_with_more_bad_rows_than_the_cap_reports_every_one_in_the_csv(
    workspace: Workspace,
    write_csv: WriteCsv,
    tmp_path: Path,
    settings: Any,
) -> None:
    # Small chunks, so the report is assembled over many of them.
    settings.OTODOKE_IMPORT_CHUNK_ROWS = 250
    taken = line_id(999_999)
    Contact.objects.create(workspace=workspace, external_id="OWNER", line_user_id=taken)
    rows = [["顧客番号", "氏名", "電話番号", "LINEユーザーID"]]
    expected: list[tuple[int, str, str]] = []
    for n in range(1, 2401):
        line = n + 1
        if n % 2 == 0:  # bad phone: rejected while reading
            rows.append([str(n), f"客{n}", f"phone-{n}", ""])
            expected.append((line, "電話番号", f"phone-{n}"))
        else:
            rows.append([str(n), f"客{n}", "", ""])
    # Rejected by the service (another customer has this LINE user), not by the row parser.
    rows.append(["X1", "重複LINE", "", taken])
    expected.append((len(rows), "LINEユーザーID", taken))
    path = write_csv(rows)
    errors_path = tmp_path / "out" / "errors.csv"

    report = run_import(workspace, "contacts", path, errors_path=errors_path)

    assert report.error_count == len(expected) == 1201
    assert len(report.errors) == runner.MAX_REPORTED_ERRORS < report.error_count
    header, *lines = read_report(errors_path)
    assert header == ["行", "列", "値", "内容"]
    assert [(int(r[0]), r[1], r[2]) for r in lines] == expected  # every one, in line order
    assert all(r[3] for r in lines)  # each with its reason
    assert Contact.objects.count() == 1 + 1200  # the good rows landed


def test_values_are_excerpted_and_cannot_run_as_spreadsheet_formulas(
    workspace: Workspace, write_csv: WriteCsv, tmp_path: Path
) -> None:
    path = write_csv(
        [
            ["顧客番号", "電話番号", "生年月日"],
            ["1", '=HYPERLINK("http://evil.example","x")', ""],
            ["2", "", "9" * 500],
        ]
    )
    errors_path = tmp_path / "errors.csv"

    run_import(workspace, "contacts", path, errors_path=errors_path)

    _header, formula, long = read_report(errors_path)
    assert formula[2].startswith("'=HYPERLINK")
    assert len(long[2]) == 100
    assert long[2].endswith("…")


def test_cli_writes_the_error_file_with_errors_option(
    workspace: Workspace, write_csv: WriteCsv, tmp_path: Path
) -> None:
    path = write_csv([["顧客番号", "電話番号"], ["1", "090-1111-2222"], ["2", "nope"]])
    errors_path = tmp_path / "cli-errors.csv"
    out = StringIO()

    call_command(
        "import",
        "contacts",
        str(path),
        "--workspace",
        workspace.slug,
        "--errors",
        str(errors_path),
        "--json",
        "--allow-errors",
        stdout=out,
    )

    summary = json.loads(out.getvalue())
    assert summary["error_count"] == 1
    assert summary["error_file"] == str(errors_path)
    _header, only = read_report(errors_path)
    assert only[:3] == ["3", "電話番号", "nope"]
