"""Staff reply with an image, over real HTTP to the emulator: uploaded in the reply box (or
given by ID through the API, or a file through the CLI), hosted by the media app, sent as a
LINE image message with https URLs, by reply token inside the window and by push after; a
server without https is refused in Japanese; a picture a friend was sent is never cleaned up."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from line_emulator.testing import EmulatorServer
from otodoke.api.services import create_token
from otodoke.api.tests.conftest import ApiClient
from otodoke.chat.models import ChatMessage, Direction, SendMethod, SendState
from otodoke.chat.sending import image_message, send_reply
from otodoke.chat.tests.conftest import conversation_of, friend_sends, received
from otodoke.chat.tests.test_pages import client_for, page_url
from otodoke.contacts.models import Contact
from otodoke.media import services as media
from otodoke.media.models import HostedImage
from otodoke.media.tests.conftest import (  # noqa: F401 - image_folder: per-test storage, https URL
    image_folder,
    picture,
)
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://otodoke.example.jp/media/i"


def upload(name: str = "cut.jpg", size: tuple[int, int] = (640, 480)) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, picture(*size), content_type="image/jpeg")


def test_an_image_from_the_reply_box_goes_by_reply_token_and_shows_in_the_timeline(
    emulator: EmulatorServer, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "仕上がりの写真を見たいです"})
    operator = client_for(workspace, Role.OPERATOR)
    page = operator.get(page_url(workspace, friend)).content.decode()
    assert 'enctype="multipart/form-data"' in page and 'data-testid="reply-image"' in page

    answer = operator.post(page_url(workspace, friend) + "reply/", {"image": upload()})

    assert answer.status_code == 302
    image = HostedImage.objects.get(workspace=workspace)
    (record,) = received(control)
    assert record["endpoint"] == "reply"
    assert record["messages"] == [
        {
            "type": "image",
            "originalContentUrl": f"{BASE}/{image.key}/original.jpg",
            "previewImageUrl": f"{BASE}/{image.key}/preview.jpg",
        }
    ]
    assert emulator.emulator.quota_usage(emulator.channel) == 0
    sent = ChatMessage.objects.get(direction=Direction.OUT)
    assert (sent.kind, sent.method, sent.state) == ("image", SendMethod.REPLY, SendState.SENT)
    timeline = operator.get(page_url(workspace, friend) + "timeline/", HTTP_HX_REQUEST="true")
    assert f'src="{BASE}/{image.key}/preview.jpg"' in timeline.content.decode()
    # The hosted files are what LINE will fetch: public, the right type.
    served = Client().get(f"/media/i/{image.key}/preview.jpg")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_text_and_image_together_go_in_one_request(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "どんな感じですか"})
    operator = client_for(workspace, Role.OPERATOR)

    operator.post(page_url(workspace, friend) + "reply/", {"text": "こちらです", "image": upload()})

    (record,) = received(control)
    assert [m["type"] for m in record["messages"]] == ["text", "image"]
    assert record["messages"][0]["text"] == "こちらです"


def test_an_image_by_id_through_the_api_goes_by_push_after_the_window(
    emulator: EmulatorServer, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    friend_sends(control, {"type": "text", "text": "クーポンはありますか"})
    asked = ChatMessage.objects.get(direction=Direction.IN)
    assert asked.reply_until is not None
    image = media.upload_image(workspace, picture(800, 600), name="coupon.jpg")
    later = asked.reply_until + timedelta(minutes=2)
    emulator.emulator.advance_clock(180)

    sent = send_reply(workspace, conversation_of(friend), [image_message(image)], now=later)

    assert sent.method == SendMethod.PUSH and sent.state == SendState.SENT, sent.error
    (record,) = received(control)
    assert record["endpoint"] == "push"
    assert record["messages"][0]["originalContentUrl"] == f"{BASE}/{image.key}/original.jpg"
    assert emulator.emulator.requests[sent.request_id].retry_key == str(sent.retry_key)
    assert emulator.emulator.quota_usage(emulator.channel) == 1

    pos = ApiClient(create_token(workspace, name="pos", scopes=("send",)).plaintext)
    answer = pos.post(
        f"/api/v1/conversations/{conversation_of(friend).pk}/reply", {"image_id": image.pk}
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["method"] == SendMethod.PUSH and answer.json()["state"] == "sent"
    assert received(control)[-1]["messages"][0]["previewImageUrl"].endswith("/preview.jpg")
    missing = pos.post(
        f"/api/v1/conversations/{conversation_of(friend).pk}/reply", {"image_id": image.pk + 99}
    )
    assert missing.status_code == 422
    both = pos.post(
        f"/api/v1/conversations/{conversation_of(friend).pk}/reply",
        {"image_id": image.pk, "text": "hi"},
    )
    assert both.status_code == 422
    assert len(received(control)) == 2
    multipart = pos.client.post(
        f"/api/v1/conversations/{conversation_of(friend).pk}/reply/image",
        {"file": upload("menu.jpg", (700, 500))},
        headers={"Authorization": f"Bearer {pos.token}"},
    )
    assert multipart.status_code == 201, multipart.content
    menu = HostedImage.objects.get(workspace=workspace, original_name="menu.jpg")
    assert received(control)[-1]["messages"][0]["originalContentUrl"] == (
        f"{BASE}/{menu.key}/original.jpg"
    )
    schema = ApiClient(None).get("/api/v1/openapi.json").json()
    assert "image_id" in schema["components"]["schemas"]["ReplyIn"]["properties"]
    assert "/api/v1/conversations/{conversation_id}/reply/image" in schema["paths"]


def test_the_cli_sends_an_image_file(
    control: httpx.Client, friend: Contact, workspace: Workspace, tmp_path: Path
) -> None:
    friend_sends(control, {"type": "text", "text": "地図をください"})
    file = tmp_path / "map.png"
    file.write_bytes(picture(500, 500, "PNG"))
    out = StringIO()

    call_command(
        "chat", "reply", str(conversation_of(friend).pk), "--workspace", workspace.slug,
        "--image", str(file), "--json", stdout=out,
    )  # fmt: skip

    assert json.loads(out.getvalue())["state"] == "sent"
    image = HostedImage.objects.get(workspace=workspace)
    assert received(control)[-1]["messages"] == [
        {
            "type": "image",
            "originalContentUrl": f"{BASE}/{image.key}/original.{image.extension}",
            "previewImageUrl": f"{BASE}/{image.key}/preview.jpg",
        }
    ]


def test_without_https_the_image_is_refused_in_japanese_and_nothing_is_stored(
    settings: Any, control: httpx.Client, friend: Contact, workspace: Workspace, tmp_path: Path
) -> None:
    settings.PUBLIC_BASE_URL = "http://192.168.1.10:8000"
    friend_sends(control, {"type": "text", "text": "写真ください"})
    operator = client_for(workspace, Role.OPERATOR)

    answer = operator.post(page_url(workspace, friend) + "reply/", {"image": upload()}, follow=True)

    page = answer.content.decode()
    assert "LINE は https:// のアドレスの画像しか表示しません" in page  # the reason, in Japanese
    assert "http://192.168.1.10:8000" in page and "OTODOKE_PUBLIC_URL" in page
    assert received(control) == []
    assert not HostedImage.objects.exists()
    assert not ChatMessage.objects.filter(direction=Direction.OUT).exists()
    file = tmp_path / "x.jpg"
    file.write_bytes(picture(100, 100))
    with pytest.raises(CommandError, match="OTODOKE_PUBLIC_URL"):
        call_command(
            "chat", "reply", str(conversation_of(friend).pk), "--workspace", workspace.slug,
            "--image", str(file), stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert not HostedImage.objects.exists()


def test_an_image_a_chat_reply_used_is_protected_from_cleanup(
    settings: Any, control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    settings.MEDIA_CLEANUP_GRACE_HOURS = 0
    friend_sends(control, {"type": "text", "text": "写真を"})
    used = media.upload_image(workspace, picture(300, 300), name="used.jpg")
    spare = media.upload_image(workspace, picture(301, 300), name="spare.jpg")
    send_reply(workspace, conversation_of(friend), [image_message(used)])
    future = used.created_at + timedelta(hours=1)

    unused = media.unused_images(now=future)

    assert [image.pk for image in unused] == [spare.pk]
    assert media.uses(used) == ["チャット返信"]
    with pytest.raises(media.ImageInUseError):
        media.delete_image(used)
    assert media.cleanup(unused) == 1
    assert list(HostedImage.objects.values_list("pk", flat=True)) == [used.pk]


def test_a_file_line_cannot_show_is_refused_with_the_reason(
    control: httpx.Client, friend: Contact, workspace: Workspace
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    friend_sends(control, {"type": "text", "text": "写真を"})
    operator = client_for(workspace, Role.OPERATOR)
    bad = SimpleUploadedFile("notes.txt", b"not a picture", content_type="text/plain")

    answer = operator.post(page_url(workspace, friend) + "reply/", {"image": bad}, follow=True)

    assert answer.status_code == 200
    assert "このファイルは画像として読み込めません" in answer.content.decode()
    assert received(control) == []
    assert not ChatMessage.objects.filter(direction=Direction.OUT).exists()
    no_file = operator.post(
        page_url(workspace, friend) + "reply/", {"send_image": "1"}, follow=True
    )
    assert "画像ファイルを選んでください" in no_file.content.decode()
