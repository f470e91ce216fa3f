"""`otodoke demo`: one command that brings up the whole product on SQLite.

It starts the LINE emulator, creates (once) a sandbox workspace pointed at it with a login per
role and a realistic data set, registers the same LINE friends in the emulator (which keeps its
state, what each phone received included, in DATA_DIR/emulator-state.json across restarts), then
runs the web app and a worker until Ctrl-C.
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

from otodoke.workspaces.models import Membership, Workspace
from otodoke.workspaces.plans import Plan
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace, set_member_role

DEMO_SLUG = "demo-salon"
DEMO_USERNAME = "owner"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: Role = Role.OWNER


# One login per role, so a newcomer can see what each role may do (a viewer sees phones,
# e-mails and LINE user IDs masked; only the owner manages members). Usernames are the roles.
DEMO_ROLES = (Role.OWNER, Role.MANAGER, Role.OPERATOR, Role.VIEWER)


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


def ensure_logins() -> list[DemoLogin]:
    """A login per role; passwords are generated once and kept in DATA_DIR/demo.json (mode
    600), so they stay the same across restarts. Ordinary logins, never Django superusers."""
    state = _load_state()
    passwords: dict[str, str] = dict(state.get("passwords", {}))
    if state.get("password"):  # a demo folder from before there was a login per role
        passwords.setdefault(Role.OWNER.value, state["password"])
    logins = []
    for role in DEMO_ROLES:
        username = DEMO_USERNAME if role == Role.OWNER else role.value
        user, created = User.objects.get_or_create(username=username)
        if created or role.value not in passwords or user.is_staff:
            passwords[role.value] = passwords.get(role.value) or secrets.token_urlsafe(9)
            user.set_password(passwords[role.value])
            user.is_staff = False  # older demos made the owner staff; the UI needs no admin
            user.save()
        logins.append(DemoLogin(username, passwords[role.value], role))
    if passwords != state.get("passwords"):
        path = _state_file()
        path.write_text(json.dumps({**state, "passwords": passwords}))
        path.chmod(0o600)
    return logins


def ensure_members(workspace: Workspace, logins: Iterable[DemoLogin]) -> None:
    """Each demo login is a member of the demo workspace with its role (once)."""
    for login in logins:
        user = User.objects.get(username=login.username)
        if not Membership.objects.filter(workspace=workspace, user=user).exists():
            set_member_role(workspace, user, login.role, actor=None, label="demo")


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


def has_demo_data(workspace: Workspace) -> bool:
    """Whether an earlier start already created the demo customers."""
    from otodoke.contacts.models import Contact

    return Contact.objects.filter(workspace=workspace).exists()


def emulator_state_file() -> Path:
    """Where the demo's emulator keeps its friends and what their phones received."""
    return Path(settings.DATA_DIR) / "emulator-state.json"


def demo_friends(workspace: Workspace, *, contacts: int) -> list[DemoFriend]:
    """Create the demo data set once; return the LINE friends it holds (every start)."""
    from otodoke.contacts.demo import generate_demo_data
    from otodoke.contacts.models import Contact

    if not has_demo_data(workspace):
        generate_demo_data(workspace, contacts=contacts)
        create_examples(workspace)
    ensure_chat(workspace)
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


def ensure_chat(workspace: Workspace) -> int:
    """A few chat conversations with history (the salon case), once; also on an older demo."""
    from otodoke.chat.demo import ensure_chat_demo

    return ensure_chat_demo(workspace)


def friends_line(workspace: Workspace) -> str:
    """The banner's friend figures, defined as the dashboard defines them (following now;
    blocked apart; customers apart from LINE-only followers), so the two never disagree."""
    from otodoke.contacts.counts import friend_counts

    counts = friend_counts(workspace)
    return (
        f"{counts.following:,} following, {counts.blocked:,} blocked (as on the dashboard); "
        f"{counts.customers:,} customers + {counts.line_only:,} LINE-only followers"
    )


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
    from otodoke.media.demo import product_carousel

    create_campaign(
        workspace,
        name="おすすめヘアケア商品のご紹介",
        messages=[product_carousel(workspace)],
        target={"include": [{"segment": segments[0].pk}]},
        actor=None,
    )
    ensure_scenarios(workspace)


# The demo's automations: the welcome, birthday and 60-day scenarios run. The welcome
# auto-reply (otodoke.autoreplies.demo) is there to be seen but off, so a follow is greeted once.
DEMO_SCENARIOS = ("welcome_on_follow", "birthday_month_coupon", "come_back_after_60_days")


def ensure_richmenus(workspace: Workspace) -> list[str]:
    """The demo's default and VIP rich menus, published on the emulator (every start)."""
    from otodoke.richmenus.demo import ensure_richmenus as ensure

    return ensure(workspace)


def ensure_scenarios(workspace: Workspace) -> list[str]:
    """Create and activate the demo's scenarios from the templates, once (a scenario already
    made from a template is left as the staff changed it); also on a demo database made before
    scenarios existed; then the demo's auto-replies. The welcome's first step ignores quiet
    hours, so following the account from the emulator's phone page gets the greeting within
    seconds at any hour. Returns what was refused (left as a draft whose page names the
    problem)."""
    from otodoke.autoreplies.demo import ensure_demo as ensure_autoreplies
    from otodoke.scenarios import presets
    from otodoke.scenarios.models import Scenario
    from otodoke.scenarios.services import ScenarioError, activate_scenario

    made = set(Scenario.objects.filter(workspace=workspace).values_list("template", flat=True))
    refused: list[str] = []
    for key in DEMO_SCENARIOS:
        if key in made:
            continue
        scenario = presets.instantiate(workspace, key)
        try:
            activate_scenario(scenario)
        except ScenarioError as exc:
            refused.append(f"{scenario.name}: {exc}")
    ensure_autoreplies(workspace)
    return refused


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
