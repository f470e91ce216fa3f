"""Audience pages: upload with a per-line report, snapshot of a segment, members sample with PII
masked, export gated by Permission.EXPORT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.models import Audience, AudienceSource
from otodoke.segments.services import save_segment
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Role

BASE = "/w/salon/audiences/"


def uid(n: int) -> str:
    return f"U{n:032x}"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def friends(workspace: Workspace) -> list[Contact]:
    return [
        Contact.objects.create(
            workspace=workspace,
            name=f"友だち{n}",
            line_user_id=uid(n),
            line_status=LineStatus.FOLLOWING,
            prefecture="東京都" if n < 3 else "大阪府",
        )
        for n in range(1, 5)
    ]


def upload(client: Client, content: bytes, **extra: str) -> Any:
    file = SimpleUploadedFile("ids.txt", content, content_type="text/plain")
    return client.post(BASE + "upload/", {"name": "店頭アンケート", "file": file, **extra})


def test_upload_reports_bad_and_unknown_lines_with_their_numbers(
    friends: list[Contact], client_as: Callable[[Role], Client]
) -> None:
    content = f"{uid(1)}\nnot-an-id\n\n{uid(99)}\n{uid(2)}\n".encode()
    response = upload(client_as(Role.OPERATOR), content)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="matched">2<' in page
    assert 'data-testid="problem-count">2<' in page
    assert "<td>2</td>" in page and "<td>4</td>" in page  # the bad line and the unknown ID
    audience = Audience.objects.get(name="店頭アンケート")
    assert audience.size == 2 and audience.source == AudienceSource.FILE


def test_strict_upload_creates_nothing_when_a_line_is_bad(
    friends: list[Contact], client_as: Callable[[Role], Client]
) -> None:
    upload(client_as(Role.OPERATOR), f"{uid(1)}\nnope\n".encode(), strict="on")
    assert not Audience.objects.exists()


def test_viewer_cannot_upload_or_snapshot(
    workspace: Workspace, friends: list[Contact], client_as: Callable[[Role], Client]
) -> None:
    viewer = client_as(Role.VIEWER)
    assert viewer.get(BASE + "upload/").status_code == 403
    assert upload(viewer, uid(1).encode()).status_code == 403
    segment = save_segment(
        workspace,
        name="全員",
        definition={"version": 1, "where": {"kind": "all", "conditions": []}},
        actor=None,
    )
    snapshot = viewer.post(f"/w/salon/segments/{segment.pk}/snapshot/", {"name": "x"})
    assert snapshot.status_code == 403 and not Audience.objects.exists()
    assert 'data-testid="upload-audience"' not in viewer.get(BASE).content.decode()


def test_snapshot_freezes_who_matches_now(
    workspace: Workspace, friends: list[Contact], client_as: Callable[[Role], Client]
) -> None:
    segment = save_segment(
        workspace,
        name="東京",
        definition={"version": 1, "where": {"kind": "prefecture", "values": ["東京都"]}},
        actor=None,
    )
    client = client_as(Role.OPERATOR)
    response = client.post(f"/w/salon/segments/{segment.pk}/snapshot/", {"name": "東京の今"})
    audience = Audience.objects.get(name="東京の今")
    assert response["Location"] == f"{BASE}{audience.pk}/"
    assert audience.size == 2 and audience.source == AudienceSource.SEGMENT
    Contact.objects.filter(pk=friends[3].pk).update(prefecture="東京都")
    detail = client.get(f"{BASE}{audience.pk}/").content.decode()
    assert 'data-testid="audience-size">2<' in detail
    assert "友だち1" in detail and "友だち4" not in detail
    assert "東京" in client.get(BASE).content.decode()


def test_detail_masks_ids_and_hides_export_for_viewer_and_operator(
    workspace: Workspace, friends: list[Contact], client_as: Callable[[Role], Client]
) -> None:
    upload(client_as(Role.OWNER), f"{uid(1)}\n{uid(2)}\n".encode())
    audience = Audience.objects.get()
    for role in (Role.VIEWER, Role.OPERATOR):
        client = client_as(role)
        page = client.get(f"{BASE}{audience.pk}/").content.decode()
        assert "友だち1" in page and uid(1) not in page
        assert 'data-testid="export-button"' not in page
        assert client.get(f"{BASE}{audience.pk}/export/").status_code == 403
        assert client.post(f"{BASE}{audience.pk}/export/", {"kind": "line-ids"}).status_code == 403


def test_owner_exports_an_audience(
    workspace: Workspace, friends: list[Contact], client_as: Callable[[Role], Client]
) -> None:
    owner = client_as(Role.OWNER)
    upload(owner, f"{uid(3)}\n{uid(1)}\n".encode())
    audience = Audience.objects.get()
    page = owner.get(f"{BASE}{audience.pk}/").content.decode()
    assert 'data-testid="export-button"' in page and uid(1) in page
    response = owner.post(f"{BASE}{audience.pk}/export/", {"kind": "line-ids"})
    file = owner.get(response["Location"] + "file/")
    body = b"".join(file.streaming_content)  # type: ignore[attr-defined]
    assert body.decode().splitlines() == [uid(1), uid(3)]
    assert "attachment" in file["Content-Disposition"]
