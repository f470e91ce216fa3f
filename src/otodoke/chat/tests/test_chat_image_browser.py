"""An image reply in Chromium at a phone viewport: staff pick a picture in the reply box's
画像 panel, it is hosted and sent by reply token, the timeline shows it, and the friend's
phone on the emulator shows the picture at its hosted https URL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from line_emulator.testing import TEST_CHANNEL_ID, EmulatorServer
from otodoke.chat.models import ChatMessage, Direction, SendMethod
from otodoke.chat.tests.conftest import FRIEND, conversation_of, friend_sends
from otodoke.contacts.models import Contact
from otodoke.media.models import HostedImage
from otodoke.media.tests.conftest import (  # noqa: F401 - image_folder: storage, https URL
    image_folder,
    picture,
)
from otodoke.web.tests.conftest import (  # noqa: F401 - fixtures
    browser,
    log_in,
    make_user,
    new_page,
    playwright_session,
)
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role
from otodoke.workspaces.services import set_member_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_send_a_picture_from_a_phone_and_the_friend_sees_it(
    emulator: EmulatorServer,
    live_server: LiveServer,
    control: httpx.Client,
    friend: Contact,
    workspace: Workspace,
    tmp_path: Path,
    new_page: Callable[..., Page],  # noqa: F811
) -> None:
    friend_sends(control, {"type": "text", "text": "仕上がりの写真を送ってください"})
    set_member_role(workspace, make_user("operator"), Role.OPERATOR, actor=None)
    file = tmp_path / "finish.jpg"
    file.write_bytes(picture(900, 1200))
    staff = log_in(new_page(phone=True), live_server.url, "operator")
    staff.goto(f"{live_server.url}/w/{workspace.slug}/chat/{conversation_of(friend).pk}/")

    staff.get_by_text("画像", exact=True).click()
    staff.get_by_test_id("reply-image").set_input_files(str(file))
    staff.get_by_test_id("reply-image-send").click()

    image = HostedImage.objects.get(workspace=workspace)
    preview = f"https://otodoke.example.jp/media/i/{image.key}/preview.jpg"
    sent = staff.get_by_test_id("timeline").get_by_test_id("chat-out").locator("img")
    expect(sent).to_have_attribute("src", preview)
    out = ChatMessage.objects.get(direction=Direction.OUT)
    assert (out.kind, out.method) == ("image", SendMethod.REPLY)
    phone = new_page(phone=True)
    phone.goto(f"{emulator.url}/_emulator/phone/{TEST_CHANNEL_ID}/{FRIEND}")
    expect(phone.locator("img[alt=image]").last).to_have_attribute("src", preview)
