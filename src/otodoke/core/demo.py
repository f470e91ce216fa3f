"""`otodoke demo`: one command that brings up the whole product on SQLite.

It starts the LINE emulator, creates (once) a sandbox workspace pointed at it with an owner login
and a realistic data set, registers the same LINE friends in the emulator (its state lives in
memory, so this is redone at every start), then runs the web app and a worker until Ctrl-C.
"""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction

from otodoke.workspaces.models import Workspace
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.services import create_workspace

DEMO_SLUG = "demo-salon"
DEMO_USERNAME = "owner"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str


@dataclass(frozen=True)
class DemoFriend:
    user_id: str
    display_name: str
    status: str  # following | blocked


def _state_file() -> Path:
    return Path(settings.DATA_DIR) / "demo.json"


def _load_state() -> dict[str, Any]:
    path = _state_file()
    return json.loads(path.read_text()) if path.exists() else {}


def ensure_owner() -> DemoLogin:
    """The demo owner's password is generated once and kept in DATA_DIR/demo.json (mode 600)."""
    state = _load_state()
    password = state.get("password") or secrets.token_urlsafe(9)
    user, _ = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"is_staff": True})
    if not state.get("password"):
        user.set_password(password)
        user.save()
        path = _state_file()
        path.write_text(json.dumps({**state, "password": password}))
        path.chmod(0o600)
    return DemoLogin(DEMO_USERNAME, password)


@transaction.atomic
def ensure_workspace(owner: User, emulator_url: str) -> Workspace:
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        workspace = create_workspace(
            name="デモサロン 花と緑",
            slug=DEMO_SLUG,
            channel_id="2000000001",
            channel_secret=secrets.token_hex(16),
            channel_access_token=secrets.token_urlsafe(32),
            api_base_url=emulator_url,
            plan=Plan.STANDARD,
            owner=owner,
            actor_name="demo",
        )
    elif workspace.api_base_url != emulator_url:
        workspace.api_base_url = emulator_url
        workspace.save(update_fields=["api_base_url", "updated_at"])
    return workspace


def demo_friends(workspace: Workspace, *, contacts: int) -> list[DemoFriend]:
    """Create the demo data set once; return the LINE friends it holds (every start)."""
    try:
        from otodoke.contacts.demo import generate_demo_data
        from otodoke.contacts.models import Contact
    except ImportError:  # the contacts app is not installed in this build
        return []
    if not Contact.objects.filter(workspace=workspace).exists():
        generate_demo_data(workspace, contacts=contacts)
        create_examples(workspace)
    rows = (
        Contact.objects.filter(workspace=workspace)
        .exclude(line_user_id=None)
        .values_list("line_user_id", "line_display_name", "name", "line_status")
    )
    return [
        DemoFriend(user_id, display or name or "LINE user", status)
        for user_id, display, name, status in rows.iterator()
        if user_id and status in {"following", "blocked"}
    ]


# Saved segments a salon would start from: the brief's "haven't visited in 60 days and spent
# over ¥30,000", a birthday-month list and the VIPs. Names are the salon's, so Japanese.
EXAMPLE_SEGMENTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "60日以上ご来店なし・累計3万円以上",
        "休眠しかけている優良顧客。再来店のきっかけに。",
        {
            "version": 1,
            "where": {
                "kind": "all",
                "conditions": [
                    {"kind": "last_visit", "op": "before", "days_ago": 60},
                    {"kind": "total_spent", "min": 30000},
                ],
            },
        },
    ),
    (
        "今月お誕生日のお客様",
        "バースデークーポンの配信先。",
        {"version": 1, "where": {"kind": "birthday", "when": "this_month"}},
    ),
    (
        "VIP",
        "累計購入額の上位1割(自動タグ)。",
        {"version": 1, "where": {"kind": "tags", "match": "all", "names": ["VIP"]}},
    ),
]


def create_examples(workspace: Workspace) -> None:
    """Example segments and a draft campaign for the first of them, so a newcomer can preview,
    test-send and send from the first minute."""
    from otodoke.campaigns.services import create_campaign
    from otodoke.segments.services import save_segment

    segments = [
        save_segment(workspace, name=name, description=about, definition=definition, actor=None)
        for name, about, definition in EXAMPLE_SEGMENTS
    ]
    create_campaign(
        workspace,
        name="ご無沙汰のお客様へ 冬のトリートメント20%オフ",
        messages=[
            {
                "type": "text",
                "text": "{{ name | default('お客') }}様、ご無沙汰しております。"
                "冬の乾燥対策に、トリートメントを20%オフでご案内中です。"
                "ご予約はこちらから https://example.com/reserve",
            }
        ],
        target={"include": [{"segment": segments[0].pk}]},
        actor=None,
    )
    from otodoke.scenarios.presets import instantiate
    from otodoke.scenarios.services import activate_scenario

    # The welcome greets a new friend within seconds; birthday and 60-day run on their own.
    for key in ("welcome_on_follow", "birthday_month_coupon", "come_back_after_60_days"):
        activate_scenario(instantiate(workspace, key))


def wait_for(url: str, *, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


def register_friends(emulator_url: str, channel_id: str, friends: Iterable[DemoFriend]) -> int:
    """Tell the emulator about the demo's LINE friends, in chunks. Creating them this way sends
    no webhooks: Otodoke already knows them."""
    batch: list[dict[str, str]] = []
    count = 0
    with httpx.Client(base_url=emulator_url, timeout=30) as client:
        for friend in friends:
            batch.append(
                {
                    "user_id": friend.user_id,
                    "display_name": friend.display_name,
                    "status": friend.status,
                }
            )
            if len(batch) == 1000:
                count += _post_friends(client, channel_id, batch)
                batch = []
        if batch:
            count += _post_friends(client, channel_id, batch)
    return count


def _post_friends(client: httpx.Client, channel_id: str, batch: list[dict[str, str]]) -> int:
    response = client.post(f"/_emulator/channels/{channel_id}/friends", json={"friends": batch})
    response.raise_for_status()
    return len(batch)


class Processes:
    """The demo's child processes; all of them stop when one stops or on Ctrl-C."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        process = subprocess.Popen(argv, env=env)  # noqa: S603 - our own entry points
        self.children.append((name, process))

    def wait(self) -> None:
        stop = False

        def _stop(signum: int, frame: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
        while not stop:
            for name, process in self.children:
                if process.poll() is not None:
                    sys.stderr.write(f"{name} stopped (exit {process.returncode}); stopping\n")
                    stop = True
            time.sleep(0.3)
        self.stop()

    def stop(self) -> None:
        for _, process in self.children:
            if process.poll() is None:
                process.terminate()
        for _, process in self.children:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)
