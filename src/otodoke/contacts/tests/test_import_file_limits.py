"""Files the csv module or the mapping step cannot take whole get a clear file error naming
the line and the limit, in the CLI's run and in the background job, never a crash (issue
12.14, 12.15)."""

from __future__ import annotations

import pytest

from otodoke.contacts.imports import ImportFileError, run_import
from otodoke.contacts.imports.reading import MAX_COLUMNS, open_csv, preview_rows
from otodoke.contacts.jobs import create_job
from otodoke.contacts.models import Contact, ImportJob, ImportStatus
from otodoke.contacts.tasks import run_import_job
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace

HUGE = "x" * (200 * 1024)  # over the csv module's 128 KiB field limit


def test_a_cell_over_128_kib_names_its_line_and_imports_nothing(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv([["顧客番号", "氏名", "メモ"], ["1", "山田", "ok"], ["2", "佐藤", HUGE]])

    with pytest.raises(ImportFileError) as caught:
        run_import(workspace, "contacts", path)

    message = str(caught.value)
    assert "3" in message and "128 KiB" in message
    assert not Contact.objects.exists()


def test_an_unclosed_quote_is_reported_as_a_file_error_not_as_rows(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv([["顧客番号", "氏名"], ["1", "山田"]])
    # A quote opened on line 3 and never closed swallows the rest of the file.
    path.write_text(path.read_text() + '2,"佐藤\r\n' + ("3,鈴木\r\n" * 40_000), encoding="utf-8")

    with pytest.raises(ImportFileError, match="3"):
        run_import(workspace, "contacts", path)
    assert not Contact.objects.exists()


def test_the_background_job_fails_with_the_message_instead_of_crashing(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv([["顧客番号", "メモ"], ["1", "ok"], ["2", HUGE]])
    job = create_job(workspace, "contacts", path)

    assert run_import_job.call(job.pk, str(path)) == ImportStatus.FAILED

    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportStatus.FAILED
    assert "128 KiB" in job.failure and "3" in job.failure
    assert "Error(" not in job.failure  # a sentence, not a Python repr
    assert not Contact.objects.exists()


def test_a_file_with_too_many_columns_is_refused_with_the_counts(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    header = ["顧客番号", *(f"c{n}" for n in range(MAX_COLUMNS + 100))]
    path = write_csv([header, ["1", *("v" for _ in header[1:])]])

    with pytest.raises(ImportFileError) as caught:
        run_import(workspace, "contacts", path)

    assert str(MAX_COLUMNS + 101) in str(caught.value)
    assert str(MAX_COLUMNS) in str(caught.value)


def test_the_preview_reads_a_bounded_prefix_and_cuts_long_cells(write_csv: WriteCsv) -> None:
    long_cell = "y" * 100_000  # under the csv limit, far over what a sample shows
    rows = [["顧客番号", "メモ"], *([str(n), long_cell] for n in range(1, 6))]

    preview = preview_rows(open_csv(write_csv(rows)), 10)

    # The third row runs past the 256 KiB the preview reads: it and the rest are left out.
    assert [row[0] for row in preview] == ["1", "2"]
    assert [len(row[1]) for row in preview] == [200, 200]
