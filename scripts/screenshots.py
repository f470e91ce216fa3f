"""Capture the main pages into docs/screenshots/.

Run: python3 -m uv run python scripts/screenshots.py [NAME …]   (names: only those shots)

Starts everything in a throwaway data folder: a LINE emulator (in this process), a database
with the salon demo data, one import with a bad row, a few saved segments, the web app
(`otodoke serve`), then sends one campaign through the real engine to the emulator (run inline
here, no worker), has some simulated friends tap its tracked link through the emulator's
`open-link`, and drives Debian's Chromium through Playwright. Nothing of the developer's own
data folder is touched.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "screenshots-only-4b1e"  # noqa: S105 - a throwaway login in a temporary folder
CHANNEL_ID = "2000000001"
TOKEN = "demo-token-" + "x7Kp" * 10
SECRET = "8c570fa6dd201bb328f1c1eac23a96d8"  # noqa: S105


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def configure(data_dir: Path, public_url: str) -> None:
    os.environ.update(
        OTODOKE_PUBLIC_URL=public_url,  # tracked links must reach the web app started below
        SECRET_KEY="screenshots-" + Fernet.generate_key().decode(),
        OTODOKE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        OTODOKE_DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'otodoke.sqlite3'}",
        DJANGO_SETTINGS_MODULE="otodoke.settings",
    )
    os.environ.pop("OTODOKE_TEST_DB_NAME", None)
    import django

    django.setup()


def use_quota(emulator_url: str) -> None:
    """Send one multicast so the dashboard's gauge shows real consumption."""
    control = f"{emulator_url}/_emulator/channels/{CHANNEL_ID}/friends"
    friends = httpx.post(control, json={"count": 420}, timeout=30).json()["friends"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    body = {
        "to": [f["user_id"] for f in friends[:420]][:500],
        "messages": [{"type": "text", "text": "秋の感謝祭のお知らせ"}],
    }
    httpx.post(f"{emulator_url}/v2/bot/message/multicast", json=body, headers=headers, timeout=30)


def seed(emulator_url: str, data_dir: Path) -> int:
    """Demo data; returns the ID of the import job whose page is captured."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from otodoke.contacts import jobs
    from otodoke.contacts.demo import generate_demo_data
    from otodoke.web.services import update_workspace_settings
    from otodoke.workspaces.roles import Role
    from otodoke.workspaces.services import create_workspace, set_member_role

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("owner", "owner@example.jp", PASSWORD)
    workspace = create_workspace(
        name="デモサロン 花と緑",
        slug="demo-salon",
        channel_id=CHANNEL_ID,
        channel_secret=SECRET,
        channel_access_token=TOKEN,
        api_base_url=emulator_url,
        owner=owner,
    )
    for name, role in (
        ("tanaka", Role.MANAGER),
        ("suzuki", Role.OPERATOR),
        ("viewer", Role.VIEWER),
    ):
        set_member_role(
            workspace,
            User.objects.create_user(name, f"{name}@example.jp", PASSWORD),
            role,
            actor=owner,
        )
    update_workspace_settings(
        workspace, actor=owner, plan="light", time_zone="Asia/Tokyo", require_approval=True
    )
    generate_demo_data(workspace, contacts=600)

    csv_path = data_dir / "顧客リスト_202611.csv"
    rows = ["顧客番号,氏名,フリガナ,携帯電話,生年月日,最終来店日,来店回数"]
    rows += [
        f"N{n:04d},新規 太郎{n},シンキ タロウ,090-1234-{n:04d},"
        f"1988/04/{n % 28 + 1:02d},2026/11/0{n % 9 + 1},{n % 7 + 1}"
        for n in range(1, 60)
    ]
    rows += ["N0060,誤記 花子,ゴキ ハナコ,03-12,1990/02/30,2026/11/01,3"]
    csv_path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp932"))
    job = jobs.create_job(workspace, "contacts", csv_path, created_by=owner)
    jobs.run_job(job.pk, str(csv_path))
    return job.pk


SEGMENTS = [  # (name, description, definition); the first one is shown in the builder
    (
        "30代女性・60日以上ご無沙汰",
        "来店が途絶えがちな30代の女性客",
        {"version": 1, "where": {"kind": "all", "conditions": [
            {"kind": "gender", "values": ["female"]},
            {"kind": "age", "min": 30, "max": 39},
            {"kind": "last_visit", "op": "before", "days_ago": 60},
        ]}},
    ),
    (
        "VIP（直近90日に来店）",
        "冬の限定クーポンの配信先",
        {"version": 1, "where": {"kind": "all", "conditions": [
            {"kind": "tags", "match": "all", "names": ["VIP"]},
            {"kind": "last_visit", "op": "on_or_after", "days_ago": 90},
        ]}},
    ),
    (
        "東京・神奈川のLINE友だち",
        "",
        {"version": 1, "where": {"kind": "all", "conditions": [
            {"kind": "prefecture", "values": ["東京都", "神奈川県"]},
            {"kind": "line_status", "values": ["following"]},
        ]}},
    ),
    ("今月お誕生日", "誕生月クーポン用",
     {"version": 1, "where": {"kind": "birthday", "when": "this_month"}}),
]  # fmt: skip
CAMPAIGN_NAME = "冬のトリートメント20%オフ（VIP）"
CAMPAIGN_TEXT = (
    '{{ name | default("お客様") }}様\n'
    "いつも花と緑をご利用いただきありがとうございます。\n"
    "VIP会員様限定で、12月末までトリートメントを20%オフでご案内しております。\n"
    "ご予約はこちらから → https://example.jp/salon/reserve?c=winter"
)


def seed_segments() -> dict[str, int]:
    """Saved segments for the list, the builder and the campaign's target; name -> ID."""
    from otodoke.segments.services import save_segment
    from otodoke.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="demo-salon")
    return {
        name: save_segment(
            workspace, name=name, description=description, definition=definition, actor=None
        ).pk
        for name, description, definition in SEGMENTS
    }


def seed_audiences(segment_id: int) -> None:
    """A segment snapshot and a hand-picked list, for the audiences page."""
    from otodoke.contacts.models import Contact
    from otodoke.segments.audiences import (
        create_audience_from_contacts,
        create_audience_from_segment,
    )
    from otodoke.segments.models import Segment
    from otodoke.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="demo-salon")
    segment = Segment.objects.get(pk=segment_id)
    create_audience_from_segment(
        workspace, name=f"{segment.name}（12月の配信前）", definition=segment, actor=None
    )
    picked = Contact.objects.filter(workspace=workspace, line_status="following").order_by(
        "-total_spent"
    )[:25]
    create_audience_from_contacts(
        workspace, name="店長が選んだお得意様", contact_ids=[c.pk for c in picked], actor=None
    )


def register_line_friends(emulator_url: str) -> None:
    """The demo contacts' LINE friends exist in the emulator too, so a campaign reaches them.
    (The emulator's control API takes snake_case keys: user_id, display_name, status.)"""
    from otodoke.core.demo import demo_friends
    from otodoke.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="demo-salon")
    friends = [
        {"user_id": f.user_id, "display_name": f.display_name, "status": f.status}
        for f in demo_friends(workspace, contacts=0)
    ]
    for start in range(0, len(friends), 1000):
        httpx.post(
            f"{emulator_url}/_emulator/channels/{CHANNEL_ID}/friends",
            json={"friends": friends[start : start + 1000]},
            timeout=30,
        ).raise_for_status()


def send_campaign_with_clicks(
    emulator_url: str, segment_id: int, taps: int = 14
) -> tuple[int, str]:
    """Create, approve and send a campaign through the campaigns services and the real engine
    (inline: no worker), then let `taps` recipients open its tracked link through the emulator's
    control API. Returns the campaign ID and the user ID of a friend who tapped."""
    from django.contrib.auth.models import User
    from django.db import transaction
    from django.utils import timezone

    from otodoke.campaigns import engine, services
    from otodoke.campaigns.models import Campaign, Delivery
    from otodoke.tracking.models import Click, TrackedLink
    from otodoke.workspaces.models import Workspace

    workspace = Workspace.objects.get(slug="demo-salon")
    owner = User.objects.get(username="owner")
    with transaction.atomic():
        campaign = services.create_campaign(
            workspace,
            name=CAMPAIGN_NAME,
            messages=[{"type": "text", "text": CAMPAIGN_TEXT}],
            target={"include": [{"segment": segment_id}], "exclude": []},
            actor=owner,
        )
    services.approve_campaign(campaign, actor=User.objects.get(username="tanaka"))
    delivery = services.send_campaign(campaign, actor=owner)
    status = engine.run_delivery(delivery.pk)
    if status != "done":
        print("campaign delivery ended as", status, file=sys.stderr)  # noqa: T201

    # Taps through the emulator: it records the tap and GETs our /r/<token> redirector.
    control = f"{emulator_url}/_emulator/channels/{CHANNEL_ID}"
    tapped: list[str] = []
    for user_id in _recipients_of_campaign():
        if len(tapped) == taps:
            break
        received = httpx.get(f"{control}/friends/{user_id}/messages", timeout=30).json()
        record = received["received"][-1]
        found = re.search(r"https?://\S+/r/\S+", record["messages"][0]["text"])
        if not found:
            continue
        answer = httpx.post(
            f"{control}/friends/{user_id}/open-link",
            json={"url": found.group(0), "request_id": record["request_id"]},
            timeout=30,
        ).json()
        if answer.get("status") == 302:
            tapped.append(user_id)
    if not tapped:
        sys.exit("no tracked-link tap was recorded")

    # The send is moved nine hours back and its taps spread over those hours, so the results
    # chart shows a curve rather than one hour's spike.
    shift = timedelta(hours=9)
    delivery = Delivery.objects.get(pk=delivery.pk)
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=delivery.created_at - shift,
        frozen_at=delivery.frozen_at - shift if delivery.frozen_at else None,
        started_at=delivery.started_at - shift if delivery.started_at else None,
        finished_at=delivery.finished_at - shift if delivery.finished_at else None,
    )
    Campaign.objects.filter(pk=campaign.pk).update(approved_at=timezone.now() - shift)
    links = TrackedLink.objects.filter(campaign_id=campaign.pk)
    for link in links:
        TrackedLink.objects.filter(pk=link.pk).update(created_at=link.created_at - shift)
    start = (delivery.started_at or delivery.created_at) - shift
    offsets = [5, 12, 20, 31, 45, 58, 75, 110, 150, 200, 260, 330, 420, 500]
    for click, minutes in zip(
        Click.objects.filter(link__in=links).order_by("pk"), offsets, strict=False
    ):
        Click.objects.filter(pk=click.pk).update(clicked_at=start + timedelta(minutes=minutes))
    return campaign.pk, tapped[0]


def _recipients_of_campaign() -> list[str]:
    """LINE user IDs that received the campaign's multicasts, in the order they were sent."""
    from otodoke.campaigns.models import DeliveryRecipient, RecipientStatus

    rows = (
        DeliveryRecipient.objects.filter(
            delivery__campaign__name=CAMPAIGN_NAME, status=RecipientStatus.SENT
        )
        .exclude(contact__line_user_id=None)
        .order_by("pk")
        .values_list("contact__line_user_id", flat=True)
    )
    return list(rows)


def compose(segment_id: int) -> Callable[[Any], None]:
    """Fill the composer as a staff member would and wait for the LINE-like preview."""

    def fill(page: Any) -> None:
        page.fill("input[name=name]", CAMPAIGN_NAME)
        page.fill("textarea[name=m0-text]", CAMPAIGN_TEXT)
        page.check(f"#target-fields input[name=include_segments][value='{segment_id}']")
        # The first preview imports line-bot-sdk's models on the server, which takes seconds:
        # wait for the bubble itself, so no later page's request runs while that import does.
        page.wait_for_selector("[data-testid=preview-text]", timeout=60_000)
        page.wait_for_load_state("networkidle")

    return fill


def check_japanese_font() -> None:
    """Without a Japanese font Chromium draws every kana and kanji as an empty box."""
    found = subprocess.run(
        ["fc-list", ":lang=ja"],  # noqa: S607 - fontconfig's tool, wherever PATH has it
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not found:
        sys.exit("No Japanese font: apt-get install fonts-ipafont-gothic (or fonts-noto-cjk)")


def main() -> int:
    from playwright.sync_api import sync_playwright

    check_japanese_font()

    from line_emulator.config import ChannelConfig, EmulatorConfig
    from line_emulator.testing import running_emulator

    data_dir = Path(tempfile.mkdtemp(prefix="otodoke-screens-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configure(data_dir, base)
    channel = ChannelConfig(
        channel_id=CHANNEL_ID, access_token=TOKEN, channel_secret=SECRET,
        quota_type="limited", quota_value=1000,
    )  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    with running_emulator(EmulatorConfig(channels=[channel])) as emulator_url:
        job_id = seed(emulator_url, data_dir)
        use_quota(emulator_url)
        register_line_friends(emulator_url)
        segment_ids = seed_segments()
        builder_segment = segment_ids[SEGMENTS[0][0]]
        vip_segment = segment_ids[SEGMENTS[1][0]]
        seed_audiences(vip_segment)
        from otodoke.core.demo import ensure_scenarios
        from otodoke.scenarios.models import Scenario
        from otodoke.workspaces.models import Workspace

        salon = Workspace.objects.get(slug="demo-salon")
        ensure_scenarios(salon)  # the demo's scenarios and auto-replies
        from otodoke.chat.demo import ensure_chat_demo
        from otodoke.chat.models import Conversation

        ensure_chat_demo(salon)
        chat = Conversation.objects.order_by("-last_message_at").first()
        welcome = Scenario.objects.get(template="welcome_on_follow")
        from otodoke.contacts.models import Contact

        contact = (
            Contact.objects.filter(line_status="following", external_id__isnull=False)
            .exclude(events=None)
            .order_by("-visit_count")
            .first()
        )
        server = subprocess.Popen(  # noqa: S603 - our own entry point
            [sys.executable, "-m", "otodoke", "serve", "--port", str(port)], env=dict(os.environ)
        )
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            # The tracked link's redirector is the web app's, so the taps need it running.
            campaign_id, tapper = send_campaign_with_clicks(emulator_url, vip_segment)
            os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                shots: list[tuple[Any, ...]] = [
                    ("owner", False, "/w/demo-salon/", "dashboard"),
                    ("owner", False, "/w/demo-salon/contacts/", "contacts"),
                    (
                        "owner",
                        False,
                        f"/w/demo-salon/contacts/{contact.pk if contact else 1}/",
                        "contact",
                    ),
                    ("owner", False, "/w/demo-salon/contacts/import/", "import"),
                    ("owner", False, f"/w/demo-salon/contacts/import/{job_id}/", "import-report"),
                    ("owner", False, "/w/demo-salon/settings/channel/", "settings-channel"),
                    ("owner", False, "/w/demo-salon/settings/members/", "settings-members"),
                    ("owner", False, "/w/demo-salon/settings/audit/", "settings-audit"),
                    ("viewer", False, "/w/demo-salon/contacts/", "contacts-viewer-masked"),
                    ("owner", True, "/w/demo-salon/", "dashboard-phone"),
                    ("owner", False, "/w/demo-salon/segments/", "segments"),
                    ("owner", False, "/w/demo-salon/scenarios/", "scenarios"),
                    ("owner", False, f"/w/demo-salon/scenarios/{welcome.pk}/", "scenario-editor"),
                    ("owner", False, "/w/demo-salon/scenarios/new/", "scenario-templates"),
                    ("owner", False, "/w/demo-salon/autoreplies/?text=予約", "autoreplies"),
                    ("owner", False, "/w/demo-salon/audiences/", "audiences"),
                    (
                        "suzuki",
                        False,
                        f"/w/demo-salon/chat/{chat.pk if chat else 1}/",
                        "chat",
                    ),
                    (
                        "owner",
                        False,
                        f"/w/demo-salon/segments/{builder_segment}/",
                        "segments-builder",
                    ),
                    (
                        "owner",
                        False,
                        "/w/demo-salon/campaigns/new/",
                        "campaign-composer",
                        compose(vip_segment),
                    ),
                    (
                        "owner",
                        False,
                        f"/w/demo-salon/campaigns/{campaign_id}/",
                        "campaign-results",
                    ),
                    (
                        None,
                        False,
                        f"{emulator_url}/_emulator/phone/{CHANNEL_ID}/{tapper}",
                        "emulator-phone",
                    ),
                ]
                # `screenshots.py chat contacts` or OTODOKE_SCREENSHOTS_ONLY=chat,contacts:
                # capture just those (the others are left as they are).
                only = set(sys.argv[1:]) | {
                    n for n in os.environ.get("OTODOKE_SCREENSHOTS_ONLY", "").split(",") if n
                }
                for username, phone, path, name, *prepare in shots:
                    if only and name not in only:
                        continue
                    viewport = (
                        {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
                    )
                    if name == "emulator-phone":  # one message: the rest would be empty blue
                        viewport = {"width": 1280, "height": 300}
                    context = browser.new_context(locale="ja-JP", viewport=viewport)  # type: ignore[arg-type]
                    page = context.new_page()
                    if username is not None:
                        page.goto(f"{base}/login/")
                        page.fill("input[name=username]", username)
                        page.fill("input[name=password]", PASSWORD)
                        page.click("button[type=submit]")
                        page.wait_for_load_state()
                    page.goto(path if path.startswith("http") else f"{base}{path}")
                    page.wait_for_load_state("networkidle")
                    for step in prepare:
                        step(page)
                    page.evaluate("window.scrollTo(0, 0)")  # filling a form scrolls it
                    # Long lists and the composer are cut at the window: the top of the page
                    # (for the composer: the message beside its preview) is what people see.
                    full = not phone and not name.startswith(("contacts", "campaign-composer"))
                    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
                    print("captured", name)  # noqa: T201
                    context.close()
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
