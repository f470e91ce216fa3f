"""The タグ column is split on every separator POS exports use, so `VIP;休眠` is two tags."""

from __future__ import annotations

import pytest

from otodoke.contacts.imports import run_import
from otodoke.contacts.models import Contact
from otodoke.contacts.tests.conftest import WriteCsv
from otodoke.workspaces.models import Workspace


@pytest.mark.parametrize(
    "cell", ["VIP;休眠", "VIP；休眠", "VIP|休眠", "VIP｜休眠", "VIP/休眠", "VIP、休眠", "VIP, 休眠"]
)
def test_each_pos_separator_splits_the_tags(
    workspace: Workspace, write_csv: WriteCsv, cell: str
) -> None:
    path = write_csv([["顧客番号", "氏名", "タグ"], ["1", "山田 花子", cell]])
    result = run_import(workspace, "contacts", path)
    assert result.error_count == 0
    contact = Contact.objects.get(workspace=workspace, external_id="1")
    assert sorted(contact.contact_tags.values_list("tag__name", flat=True)) == ["VIP", "休眠"]


def test_a_space_inside_a_tag_name_is_kept(workspace: Workspace, write_csv: WriteCsv) -> None:
    path = write_csv([["顧客番号", "タグ"], ["1", "ヘッド スパ;VIP"]])
    run_import(workspace, "contacts", path)
    contact = Contact.objects.get(workspace=workspace, external_id="1")
    assert sorted(contact.contact_tags.values_list("tag__name", flat=True)) == [
        "VIP",
        "ヘッド スパ",
    ]
