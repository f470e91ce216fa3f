"""The newcomer's path in a real browser (issue 6's "Done when"), in Japanese: import customers,
build a segment and watch its count, compose a personalised message with a tracked link, test
send, send, watch the progress, see the message on a friend's phone in the LINE emulator, tap
the link and find the click in the results. Plus the approval rule as the operator sees it.

LINE is the emulator over real HTTP; jobs run in a real `otodoke worker` process. Buttons
whose wording is new are found by test id, so the test does not break when the translators
change a label."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, TEST_SECRET, TEST_TOKEN, EmulatorServer
from otodoke.campaigns import services
from otodoke.campaigns.models import Campaign
from otodoke.contacts.models import Contact, LineStatus
from otodoke.testing.browser import htmx_settled
from otodoke.testing.processes import process_env
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.browser

HANAKO = "U" + "a1" * 16
TARO = "U" + "b2" * 16
OSAKA = "U" + "c3" * 16


@pytest.fixture
def on_emulator(
    workspace: Workspace, emulator: EmulatorServer, live_server: LiveServer, settings: Any
) -> Workspace:
    """The workspace talks to the emulator; the emulator's webhooks and the tracked links
    point at this test's live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    Workspace.objects.filter(pk=workspace.pk).update(
        api_base_url=emulator.url,
        channel_id=TEST_CHANNEL_ID,
        channel_secret=TEST_SECRET,
        channel_access_token=TEST_TOKEN,
    )
    workspace.refresh_from_db()
    httpx.patch(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}",
        json={"webhook_url": workspace.webhook_url()},
        timeout=10,
    ).raise_for_status()
    return workspace


@pytest.fixture
def start_worker(live_server: LiveServer) -> Iterator[Callable[[], None]]:
    """A real worker for imports, webhook processing and sends, started when the test asks;
    it builds tracked links, so it gets the live server as its public URL."""
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        # `otodoke()` fixes the environment, so this one process is started by hand.
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "otodoke", "worker"],
                env=process_env(OTODOKE_PUBLIC_URL=live_server.url),
            )
        )

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


def follow(emulator: EmulatorServer, user_id: str, display_name: str) -> None:
    """A customer adds the account as a friend: the emulator posts the follow webhook."""
    httpx.post(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}/friends/{user_id}/follow",
        json={"display_name": display_name},
        timeout=30,
    ).raise_for_status()


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_newcomers_path_from_csv_to_a_tracked_click(
    on_emulator: Workspace,
    start_worker: Callable[[], None],
    emulator: EmulatorServer,
    live_server: LiveServer,
    page_as: Callable[..., Page],
    new_page: Callable[..., Page],
    tmp_path: Path,
) -> None:
    # 1. Import the shop's customer list (the import UI; the worker runs the job).
    csv_file = tmp_path / "顧客一覧.csv"
    rows = ["顧客番号,氏名,都道府県,LINEユーザーID"]
    rows += [f"1,山田花子,東京都,{HANAKO}", f"2,佐藤太郎,東京都,{TARO}", "3,鈴木一郎,東京都,"]
    rows += [f"4,大阪次郎,大阪府,{OSAKA}"]
    csv_file.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp932"))
    page = page_as(Role.OWNER)
    start_worker()
    page.get_by_role("link", name="連絡先").click()
    page.get_by_role("link", name="CSVを取り込む").click()
    page.get_by_label("CSVファイル").set_input_files(csv_file)
    page.get_by_role("button", name="次へ: 列を確認する").click()
    page.get_by_role("button", name="取り込みを開始").click()
    expect(page.get_by_test_id("import-status")).to_have_text("完了", timeout=30_000)
    expect(page.get_by_test_id("import-created")).to_have_text("4")

    # The customers with a LINE ID add the account as a friend (follow webhooks, processed by
    # the worker). Display names differ from the shop's names on purpose: the message must
    # use the shop's own data.
    for user_id, display in ((HANAKO, "はなこ🌸"), (TARO, "たろう"), (OSAKA, "じろう")):
        follow(emulator, user_id, display)
    following = Contact.objects.filter(workspace=on_emulator, line_status=LineStatus.FOLLOWING)
    wait_for(lambda: following.count() == 3)

    # 2. The segment "customers in Tokyo", built in the segment builder: the live count starts
    # at everyone and follows the condition; 鈴木 has no LINE ID, so two are reachable.
    menu = page.get_by_role("navigation", name="メインメニュー")
    menu.get_by_role("link", name="セグメント").click()
    page.get_by_test_id("new-segment").click()
    count, reachable = page.get_by_test_id("segment-count"), page.get_by_test_id("reachable-count")
    expect(count).to_have_text("4")
    htmx_settled(page)
    page.get_by_test_id("add-condition").select_option("prefecture")  # starts as 東京都
    expect(count).to_have_text("3")
    expect(reachable).to_have_text("2")
    expect(page.get_by_test_id("segment-summary")).to_have_text("都道府県: 東京都")
    htmx_settled(page)
    page.get_by_label(re.compile("Segment name|セグメント名")).fill("東京のお客様")
    page.get_by_test_id("save").click()
    row = page.get_by_test_id("segment-row").filter(has_text="東京のお客様")
    expect(row.get_by_test_id("segment-row-count")).to_contain_text("3")

    # 3. Compose: personalised text, a Flex button with a link, the segment; see its count.
    menu.get_by_role("link", name="配信").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("配信")
    page.get_by_test_id("new-campaign").click()
    page.locator("#id_name").fill("春のセール")
    page.locator("#id_m0-text").fill("様、春のセールのご案内です。")
    page.locator("#id_m0-text").press("Home")
    page.get_by_test_id("placeholder-picker").get_by_role("button").first.click()
    shop = f"{emulator.url}/_emulator"  # a real page to land on after the redirect
    slot = page.get_by_test_id("message-slot-1")
    slot.locator("summary").click()
    slot.locator("#id_m1-kind").select_option("flex")
    slot.locator("#id_m1-alt_text").fill("セール会場のご案内")
    slot.locator("#id_m1-flex_json").fill(
        '{"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": ['
        '{"type": "text", "text": "春のセール", "weight": "bold"},'
        f'{{"type": "button", "action": {{"type": "uri", "label": "会場を見る", "uri": "{shop}"}}}}'
        "]}}"
    )
    page.get_by_label("東京のお客様").first.check()
    expect(page.get_by_test_id("estimate-targeted")).to_have_text("3")
    expect(page.get_by_test_id("estimate-reachable")).to_have_text("2")
    # The preview is a LINE-like chat for a sample friend, with the name filled in.
    expect(page.get_by_test_id("preview-text")).to_have_text(
        re.compile(r"^(山田花子|佐藤太郎)様、春のセールのご案内です。$")
    )
    page.get_by_test_id("save-draft").click()
    expect(page.get_by_test_id("campaign-status")).to_have_text("下書き")
    campaign = Campaign.objects.get(workspace=on_emulator)
    assert campaign.messages[0]["text"].startswith("{{ name")

    # 4. Test send to 山田花子 only (found by searching: nobody is offered by default).
    page.locator("#test-q").press_sequentially("山田")
    page.get_by_test_id("test-result").filter(has_text="山田花子").locator("input").check()
    page.get_by_test_id("send-test").click()
    wait_for(lambda: bool(received(emulator, HANAKO)))
    assert not received(emulator, TARO)

    # 5. Send now (after the confirmation) and watch the progress reach 100%.
    page.get_by_test_id("send").click()
    page.get_by_test_id("confirm-send").click()
    expect(page.get_by_test_id("send-percent")).to_have_text("100%", timeout=60_000)
    expect(page.get_by_test_id("campaign-status")).to_have_text("配信済み")
    expect(page.get_by_test_id("count-sent")).to_have_text("2")
    expect(page.get_by_test_id("count-excluded")).to_have_text("1")
    expect(page.get_by_test_id("outcomes")).to_contain_text("LINE")  # why 鈴木 was left out

    # 6. 山田花子's phone shows the message with her name (twice: the test and the send).
    phone = new_page(phone=True)
    phone.goto(f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{HANAKO}")
    expect(phone.get_by_text("山田花子様、春のセールのご案内です。")).to_have_count(2)
    expect(phone.get_by_text("佐藤太郎様")).to_have_count(0)

    # 7. She taps the link of the real send: the emulator records the tap and redirects through
    # Otodoke's tracked link, which records the click and sends her on to the shop.
    phone.get_by_role("link", name="会場を見る").last.click()
    expect(phone).to_have_url(shop)

    # 8. The click is in the results.
    page.reload()
    expect(page.get_by_test_id("link-click-count")).to_have_text("1")
    expect(page.locator("svg.chart polyline")).to_have_count(1)


def received(emulator: EmulatorServer, user_id: str) -> list[Any]:
    response = httpx.get(
        f"{emulator.url}/_emulator/channels/{TEST_CHANNEL_ID}/friends/{user_id}/messages",
        timeout=10,
    )
    found: list[Any] = response.json()["received"]
    return found


def test_operator_cannot_send_where_approval_is_on(
    workspace: Workspace, members: dict[Role, User], page_as: Callable[..., Page]
) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(require_approval=True)
    campaign = services.create_campaign(
        workspace,
        name="承認待ちの配信",
        messages=[{"type": "text", "text": "{{ name }}様"}],
        target={"all_friends": True},
        actor=members[Role.OPERATOR],
    )
    page = page_as(Role.OPERATOR)
    page.goto(page.url.rstrip("/") + f"/campaigns/{campaign.pk}/")
    expect(page.get_by_test_id("awaiting-approval")).to_be_visible()
    expect(page.get_by_test_id("send")).to_have_count(0)
    expect(page.get_by_test_id("approve")).to_have_count(0)
    # A POST made by hand (with the page's CSRF token) is refused by the server as well.
    status = page.evaluate(
        """async (url) => {
            const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
            const body = new URLSearchParams({csrfmiddlewaretoken: token, when: "now"});
            const response = await fetch(url, {method: "POST", body});
            return response.status;
        }""",
        page.url + "send/",
    )
    assert status == 409
    campaign.refresh_from_db()
    assert campaign.status == "draft"
