"""Shared fixtures of the UI tests: a workspace with one login per role, Django test clients
logged in as each, and for browser tests a Chromium page logged in as each.

Browser tests drive Debian's Chromium (/usr/bin/chromium, installed by scripts/ensure-browser)
through Playwright; Playwright's own browser downloads are never used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from pytest_django.live_server_helper import LiveServer

from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import create_workspace, set_member_role

PASSWORD = "pw-for-tests-9d3f"
CHROMIUM = os.environ.get("OTODOKE_CHROMIUM", "/usr/bin/chromium")
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
SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "tok-" + "A1b2C3d4" * 20


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """The production hasher spends ~1 s per login on purpose; tests log in a lot."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(username: str) -> User:
    return User.objects.create_user(username, f"{username}@example.jp", PASSWORD)


@pytest.fixture
def workspace(db: None) -> Workspace:
    owner = make_user("owner")
    return create_workspace(
        name="サロン花と緑",
        slug="salon",
        channel_id="2000000001",
        channel_secret=SECRET,
        channel_access_token=TOKEN,
        # Nothing listens here: LINE calls fail fast and the UI must say so calmly.
        api_base_url="http://127.0.0.1:9",
        owner=owner,
    )


@pytest.fixture
def members(workspace: Workspace) -> dict[Role, User]:
    """One login per role in `workspace` (the owner is the workspace's creator)."""
    users = {Role.OWNER: User.objects.get(username="owner")}
    for role in (Role.MANAGER, Role.OPERATOR, Role.VIEWER):
        user = make_user(role.value)
        set_member_role(workspace, user, role, actor=None)
        users[role] = user
    return users


@pytest.fixture
def client_as(members: dict[Role, User]) -> Callable[[Role], Client]:
    def login(role: Role) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="ja")
        client.force_login(members[role])
        return client

    return login


# --- browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    # Playwright's sync API runs an event loop in this thread while it is open. Django then
    # refuses ORM calls from test code (safe here: nothing else runs in that loop), and any
    # later asyncio.run() in this thread would fail, so the loop lives for one test module
    # only and the async-unsafe switch is put back afterwards.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-browser (apt-get install chromium)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Pages in fresh browser contexts (own cookies), Japanese unless told otherwise."""
    contexts = []

    def open_page(*, locale: str = "ja-JP", phone: bool = False) -> Page:
        viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
        context = browser.new_context(locale=locale, viewport=viewport)  # type: ignore[arg-type]
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page: Page, base_url: str, username: str) -> Page:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture
def page_as(
    live_server: LiveServer, members: dict[Role, User], new_page: Callable[..., Page]
) -> Callable[..., Page]:
    """`page_as(Role.VIEWER)`: a Chromium page logged in through the login form."""
    base_url = live_server.url

    def open_as(role: Role, **kwargs: bool | str) -> Page:
        return log_in(new_page(**kwargs), base_url, members[role].get_username())

    return open_as
