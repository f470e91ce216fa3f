"""Capture the main pages into docs/screenshots/.

Run: python3 -m uv run python scripts/screenshots.py

Starts everything in a throwaway data folder: a LINE emulator (in this process), a database
with the salon demo data, one import with a bad row, the web app (`otodoke serve`), then drives
Debian's Chromium through Playwright. Nothing of the developer's own data folder is touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def configure(data_dir: Path) -> None:
    os.environ.update(
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
    configure(data_dir)
    channel = ChannelConfig(
        channel_id=CHANNEL_ID, access_token=TOKEN, channel_secret=SECRET,
        quota_type="limited", quota_value=1000,
    )  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    with running_emulator(EmulatorConfig(channels=[channel])) as emulator_url:
        job_id = seed(emulator_url, data_dir)
        use_quota(emulator_url)
        from otodoke.contacts.models import Contact

        contact = (
            Contact.objects.filter(line_status="following", external_id__isnull=False)
            .exclude(events=None)
            .order_by("-visit_count")
            .first()
        )
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 - our own entry point
            [sys.executable, "-m", "otodoke", "serve", "--port", str(port)], env=dict(os.environ)
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                shots = [
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
                ]
                for username, phone, path, name in shots:
                    viewport = (
                        {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
                    )
                    context = browser.new_context(locale="ja-JP", viewport=viewport)  # type: ignore[arg-type]
                    page = context.new_page()
                    page.goto(f"{base}/login/")
                    page.fill("input[name=username]", username)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_load_state()
                    page.goto(f"{base}{path}")
                    page.wait_for_load_state("networkidle")
                    # Long lists are cut at the window: the top of the page is what people see.
                    full = not phone and not name.startswith("contacts")
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
