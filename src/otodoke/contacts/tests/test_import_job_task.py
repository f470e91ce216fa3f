from otodoke.contacts.jobs import create_job
from otodoke.contacts.models import Contact, ImportJob, ImportStatus
from otodoke.contacts.tasks import run_import_job
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace


def test_import_job_runs_in_the_background_task_and_records_its_report(
    workspace: Workspace, write_csv: WriteCsv
) -> None:
    path = write_csv([["顧客番号", "電話番号"], ["1", "09012345678"], ["2", "x"]])
    job = create_job(workspace, "contacts", path)

    run_import_job.call(job.pk, str(path))
    run_import_job.call(job.pk, str(path))  # a second run leaves the finished job alone

    job = ImportJob.objects.get(pk=job.pk)
    assert job.status == ImportStatus.SUCCEEDED
    assert (job.rows, job.created, job.error_count, job.progress) == (2, 1, 1, 1.0)
    assert job.errors[0]["row"] == 3
    assert Contact.objects.count() == 1
