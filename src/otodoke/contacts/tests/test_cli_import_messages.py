"""`otodoke import` speaks one language (Japanese by default, English with --lang en), says
which field each column feeds before importing, reports the tags it found, splits tags on the
separator asked for, exits non-zero on rejected rows unless --allow-errors, and refuses a
missing file before drawing a progress bar."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from otodoke.cli import pick_language
from otodoke.contacts.models import Contact
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace


def _otodoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`otodoke ARGS` in this process (the test database): the language as the CLI picks it,
    exit status 1 with the message on stderr for a CommandError, as Django's runner does."""
    language, rest = pick_language(list(args), {})
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with translation.override(language):
        try:
            call_command(*rest, stdout=out, stderr=err)
        except CommandError as exc:
            err.write(f"CommandError: {exc}\n")
            code = 1
    captured = capsys.readouterr()
    return code, out.getvalue(), err.getvalue() + captured.err


def _tags(external_id: str) -> list[str]:
    contact = Contact.objects.get(external_id=external_id)
    return sorted(contact.contact_tags.values_list("tag__name", flat=True))


def test_the_mapping_and_the_tags_found_are_printed_in_japanese_by_default(
    workspace: Workspace, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv([["顧客番号", "氏名", "タグ", "担当"], ["1", "山田", "VIP;休眠", "佐藤"]])
    args = ["import", "contacts", str(path), "--workspace", "salon", "--map", "担当=attributes"]
    code, out, _err = _otodoke(capsys, *args)
    assert code == 0, out
    assert "列の対応:" in out
    assert "顧客番号 → external_id" in out
    assert "タグ → tags" in out
    assert "担当 → attributes.担当" in out
    assert "氏名 → name" in out
    assert "見つかったタグ: VIP (1), 休眠 (1)" in out
    assert out.index("列の対応") < out.index("1 行")  # the mapping comes before the result


def test_english_with_lang_and_a_missing_workspace_is_named(
    workspace: Workspace, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv([["顧客番号"], ["1"]])
    code, _out, err = _otodoke(
        capsys, "--lang", "en", "import", "contacts", str(path), "--workspace", "nosuch"
    )
    assert code == 1
    assert "No workspace 'nosuch'" in err
    code, _out, err = _otodoke(capsys, "import", "contacts", str(path), "--workspace", "nosuch")
    assert "ワークスペース 'nosuch' が見つかりません" in err
    assert "No workspace" not in err


def test_rejected_rows_exit_non_zero_unless_allowed(
    workspace: Workspace, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv([["顧客番号", "電話番号"], ["1", "090-1111-2222"], ["2", "nope"]])
    args = ["--lang", "en", "import", "contacts", str(path), "--workspace", "salon"]
    code, out, err = _otodoke(capsys, *args)
    assert code == 1
    assert "1 rows were rejected" in err and "--allow-errors" in err
    assert "line 3, 電話番号" in out
    assert Contact.objects.filter(external_id="1").exists()  # the good row is in
    code, out, err = _otodoke(capsys, *args, "--allow-errors")
    assert code == 0, err
    assert "1 errors" in out


def test_a_missing_file_errors_before_any_progress_bar(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.csv"
    code, out, err = _otodoke(
        capsys, "--lang", "en", "import", "contacts", str(missing), "--workspace", "salon"
    )
    assert code == 1
    assert f"No such file: {missing}" in err
    assert "%|" not in err and "B/s" not in err  # no tqdm bar was drawn
    assert "Columns:" not in out


def test_tag_separator_space_is_a_choice(
    workspace: Workspace, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv([["顧客番号", "タグ"], ["1", "VIP 休眠\u3000常連"], ["2", "A;B"]])
    args = ["import", "contacts", str(path), "--workspace", "salon", "--tag-separator", "space"]
    code, out, _err = _otodoke(capsys, *args)
    assert code == 0, out
    assert _tags("1") == ["VIP", "休眠", "常連"]
    assert _tags("2") == ["A;B"]  # only spaces split now


def test_the_json_summary_has_the_mapping_and_the_tags(
    workspace: Workspace, write_csv: WriteCsv, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_csv([["顧客番号", "タグ", "メモ"], ["1", "VIP|休眠"], ["2", "VIP"]])
    args = ["import", "contacts", str(path), "--workspace", "salon", "--map", "メモ=-", "--json"]
    code, out, _err = _otodoke(capsys, *args)
    assert code == 0, out
    summary = json.loads(out)
    assert summary["mapping"] == [
        {"column": "顧客番号", "field": "external_id"},
        {"column": "タグ", "field": "tags"},
        {"column": "メモ", "field": "-"},
    ]
    assert summary["tags"] == {"VIP": 2, "休眠": 1}
    assert summary["tag_count"] == 2
