"""The mapping step in Chromium: choosing how the タグ column is split (space included), then
the job page names the tags it found and how each column was imported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from otodoke.contacts.models import Contact, ImportJob
from otodoke.testing.tasks import run_ready_tasks
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser


def _tags(workspace: Workspace, external_id: str) -> list[str]:
    contact = Contact.objects.get(workspace=workspace, external_id=external_id)
    return sorted(contact.contact_tags.values_list("tag__name", flat=True))


def test_the_mapping_step_chooses_the_tag_separator_and_the_job_reports_the_tags(
    workspace: Workspace, page_as: Callable[..., Page], tmp_path: Path
) -> None:
    csv_file = tmp_path / "顧客.csv"
    rows = [
        "顧客番号,氏名,タグ,メモ",
        "1,山田 花子,VIP 休眠,初来店",
        "2,佐藤 太郎,VIP,",
        "3,鈴木,常連;紹介,",
    ]
    csv_file.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")

    page = page_as(Role.OPERATOR)
    page.get_by_role("link", name="連絡先").click()
    page.get_by_role("link", name="CSVを取り込む").click()
    page.get_by_label("CSVファイル").set_input_files(csv_file)
    page.get_by_role("button", name="次へ: 列を確認する").click()

    expect(page.get_by_label("タグ", exact=True)).to_have_value("tags")
    separator = page.get_by_label("タグの区切り")
    expect(separator).to_have_value("auto")
    separator.select_option("space")
    page.get_by_role("button", name="取り込みを開始").click()
    expect(page.get_by_test_id("import-status")).to_have_text("待機中")
    # The real database worker, in this process: a worker subprocess (proved by
    # core/tests/test_tasks.py and test_browser.py) costs seconds of start-up here.
    run_ready_tasks()

    expect(page.get_by_test_id("import-status")).to_have_text("完了", timeout=15_000)
    tags = page.get_by_test_id("import-tags")
    expect(tags).to_contain_text("見つかったタグ")
    for name in ("VIP", "休眠", "常連;紹介"):
        expect(tags.get_by_text(name, exact=True)).to_be_visible()
    mapping = page.get_by_test_id("import-mapping")
    mapping.get_by_text("列の取り込み方").click()
    expect(mapping.get_by_role("row", name="顧客番号 external_id")).to_be_visible()
    expect(mapping.get_by_role("row", name="メモ 取り込まない")).to_be_visible()

    # Split on spaces only, as chosen: ";" stayed inside a tag.
    assert _tags(workspace, "1") == ["VIP", "休眠"]
    assert _tags(workspace, "3") == ["常連;紹介"]
    job = ImportJob.objects.get()
    assert job.options["tag_separator"] == "space"
    assert job.tags_found == {"VIP": 2, "休眠": 1, "常連;紹介": 1}
