"""`otodoke autoreply …`: rules made from flags (no JSON), the API's JSON with --json, the
priority order, the test, and clear errors with LINE's limits named."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from otodoke.autoreplies.models import Rule
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace(db: None) -> Workspace:
    return create_workspace(
        name="Salon", slug="salon", channel_id="1", channel_secret="s",
        channel_access_token="t", api_base_url="http://127.0.0.1:9",
    )  # fmt: skip


def cli(*args: str) -> Any:
    out = io.StringIO()
    call_command("autoreply", *args, "--workspace", "salon", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_from_flags_order_test_disable_and_delete(workspace: Workspace) -> None:
    general = cli(
        "create", "--kind", "keyword", "--name", "一般", "--keyword", "予約",
        "--match", "contains", "--text", "ご予約はこちら",
    )  # fmt: skip
    cut = cli(
        "create", "--kind", "keyword", "--name", "カット", "--keyword", "カット予約",
        "--text", "カットのご予約", "--text", "空き状況はこちら", "--tag", "cut",
    )  # fmt: skip
    assert cut["messages"][1] == {"type": "text", "text": "空き状況はこちら"}
    assert cut["add_tag"] == "cut"
    assert cli("test", "カット予約")["rule"]["id"] == general["id"]
    assert [r["id"] for r in cli("order", str(cut["id"]))] == [cut["id"], general["id"]]
    assert cli("test", "カット予約")["rule"]["id"] == cut["id"]
    assert cli("disable", str(cut["id"]))["enabled"] is False
    assert [r["enabled"] for r in cli("list")] == [False, True]
    assert cli("delete", str(cut["id"])) == {"deleted": cut["id"]}
    assert list(Rule.objects.values_list("name", flat=True)) == ["一般"]


def test_business_hours_from_flags(workspace: Workspace) -> None:
    away = cli(
        "create", "--kind", "away", "--name", "時間外", "--days", "0,1,2,3,4",
        "--opens", "10:00", "--closes", "19:00", "--text", "本日の営業は終了しました",
    )  # fmt: skip
    assert (away["open_days"], away["opens_at"], away["closes_at"]) == (
        [0, 1, 2, 3, 4],
        "10:00:00",
        "19:00:00",
    )


def test_a_message_over_lines_limit_is_refused_with_its_path(workspace: Workspace) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "autoreply", "create", "--workspace", "salon", "--json", "--kind", "keyword",
            "--name", "長文", "--keyword", "長文", "--text", "あ" * 5001, stdout=out,
        )  # fmt: skip
    error = json.loads(out.getvalue())["error"]
    assert error["code"] == "invalid_rule"
    assert [d["path"] for d in error["details"]] == ["messages[0].text"]
    assert not Rule.objects.exists()
