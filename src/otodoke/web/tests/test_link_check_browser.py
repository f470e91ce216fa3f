"""設定 → LINEチャネル: the owner asks LINE about imported links in Chromium (issue 12.5)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN, EmulatorServer
from otodoke.contacts.models import Contact, LineStatus
from otodoke.core.crypto import Secret
from otodoke.testing.processes import otodoke
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser

FRIENDS = ["U" + "1" * 32, "U" + "2" * 32]
STRANGER = "U" + "3" * 32


def test_owner_checks_unknown_links_with_line_and_sees_the_result(
    workspace: Workspace, emulator: EmulatorServer, page_as: Callable[..., Page]
) -> None:
    workspace.api_base_url = emulator.url
    workspace.channel_id = TEST_CHANNEL_ID
    workspace.channel_access_token = Secret.from_plaintext(TEST_TOKEN)
    workspace.save()
    httpx.post(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}/friends",
        json={"friends": [{"user_id": u} for u in FRIENDS]},
    ).raise_for_status()
    contacts = [
        Contact.objects.create(workspace=workspace, external_id=f"C{i}", line_user_id=uid)
        for i, uid in enumerate([*FRIENDS, STRANGER])
    ]

    page = page_as(Role.OWNER)
    page.get_by_role("link", name="設定").click()
    page.get_by_role("link", name="LINEチャネル").click()
    box = page.get_by_test_id("link-check")
    expect(box.get_by_test_id("unknown-links")).to_have_text(
        "友だち状態が不明な連携済みLINE IDが 3 件あります。"
    )
    expect(box).to_contain_text("「不明」とは")
    box.get_by_role("button", name="LINEに確認する").click()

    expect(page.get_by_role("status")).to_have_text(
        "LINEに確認しています。結果は下に表示されます。"
    )
    expect(page.get_by_test_id("link-check-result")).to_contain_text("LINEに確認しています…")
    worker = otodoke("worker", "--batch")
    assert worker.wait(timeout=120) == 0

    page.reload()
    result = page.get_by_test_id("link-check-result")
    expect(result).to_contain_text("3 件を確認、友だち 2 件、見つからない 1 件（不明のまま）")
    expect(page.get_by_test_id("unknown-links")).to_have_text(
        "友だち状態が不明な連携済みLINE IDが 1 件あります。"
    )
    statuses = {c.line_user_id: c.line_status for c in Contact.objects.filter(workspace=workspace)}
    assert statuses == {
        FRIENDS[0]: LineStatus.FOLLOWING,
        FRIENDS[1]: LineStatus.FOLLOWING,
        STRANGER: LineStatus.NONE,
    }

    # The contact page says what "unknown" means for the one LINE did not confirm.
    page.goto(page.url.split("/settings/")[0] + f"/contacts/{contacts[2].pk}/")
    expect(page.get_by_test_id("line-status-unknown")).to_contain_text("友だち状態は不明です")
    page.goto(page.url.split("/contacts/")[0] + f"/contacts/{contacts[0].pk}/")
    expect(page.get_by_test_id("line-status")).to_have_text("友だち")
    expect(page.get_by_test_id("line-status-unknown")).to_have_count(0)
