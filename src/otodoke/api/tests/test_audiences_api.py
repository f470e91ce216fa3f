"""Audiences over the API: upload (multipart), segment snapshot, list/get, audited exports."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile

from otodoke.api.tests.conftest import ApiClient, error_of, make_workspace
from otodoke.contacts.models import Contact
from otodoke.segments.models import Audience, AudienceSource, Segment
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace

IDS = ["U" + c * 32 for c in "abc"]
WOMEN = {"version": 1, "where": {"kind": "gender", "values": ["female"]}}


def _people(workspace: Workspace) -> list[Contact]:
    return [
        Contact.objects.create(
            workspace=workspace,
            external_id=f"C{i}",
            line_user_id=uid,
            gender="female",
            email=f"user{i}@example.jp",
            marketing_consent=i != 2,
        )
        for i, uid in enumerate(IDS)
    ]


def _upload(client: ApiClient, data: bytes, **form: str) -> object:
    file = SimpleUploadedFile("ids.txt", data, content_type="text/plain")
    return client.client.post(
        "/api/v1/audiences/upload",
        {"name": "来店者", "file": file, **form},
        headers=client._headers(),
    )


def test_upload_reports_lines_and_freezes_known_ids(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    _people(workspace)
    data = f"{IDS[0]}\nnot-an-id\n{IDS[1]}\n{IDS[0]}\nU{'f' * 32}\n".encode()
    response = _upload(api("write"), data)
    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["audience"]["size"] == 2 and body["audience"]["source"] == "file"
    assert [(p["line"], p["reason"]) for p in body["problems"]] == [
        (2, "invalid"),
        (4, "duplicate"),
        (5, "unknown"),
    ]


def test_strict_upload_creates_nothing(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    _people(workspace)
    response = _upload(api("write"), b"nope\n", strict="true")
    assert response.status_code == 422  # type: ignore[attr-defined]
    error = error_of(response)
    assert error["code"] == "file_problems" and error["details"][0]["path"] == "file"
    assert not Audience.objects.exists()


def test_upload_needs_write_and_a_file(api: Callable[..., ApiClient]) -> None:
    assert _upload(api("read"), IDS[0].encode()).status_code == 403  # type: ignore[attr-defined]
    client = api("write")
    missing = client.client.post(
        "/api/v1/audiences/upload", {"name": "x"}, headers=client._headers()
    )
    assert missing.status_code == 422
    assert [d["path"] for d in error_of(missing)["details"]] == ["file"]


def test_from_segment_list_and_get(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    _people(workspace)
    segment = Segment.objects.create(workspace=workspace, name="w", definition=WOMEN)
    client = api("read", "write")
    saved = client.post("/api/v1/audiences/from-segment", {"name": "A", "segment_id": segment.pk})
    assert saved.status_code == 201 and saved.json()["size"] == 3
    assert saved.json()["source_details"]["segment_id"] == segment.pk
    unsaved = client.post("/api/v1/audiences/from-segment", {"name": "B", "definition": WOMEN})
    assert unsaved.status_code == 201 and unsaved.json()["source"] == AudienceSource.SEGMENT
    bad = client.post("/api/v1/audiences/from-segment", {"name": "C", "definition": {"version": 1}})
    assert [d["path"] for d in error_of(bad)["details"]] == ["definition.where"]
    both = client.post(
        "/api/v1/audiences/from-segment", {"name": "D", "segment_id": 1, "definition": WOMEN}
    )
    assert both.status_code == 422
    items = client.get("/api/v1/audiences").json()["items"]
    assert sorted(a["name"] for a in items) == ["A", "B"]
    assert client.get(f"/api/v1/audiences/{items[0]['id']}").status_code == 200
    stranger = Audience.objects.create(workspace=make_workspace("Other"), name="x", source="file")
    assert client.get(f"/api/v1/audiences/{stranger.pk}").status_code == 404


def test_from_contacts_freezes_exactly_the_picked_contacts(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    people = _people(workspace)
    picked = [people[2].pk, people[0].pk, people[2].pk]  # a repeat counts once
    response = api("write").post(
        "/api/v1/audiences/from-contacts", {"name": "手で選んだ", "contact_ids": picked}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["source"], body["size"]) == ("手で選んだ", "manual", 2)
    audience = Audience.objects.get(pk=body["id"], workspace=workspace)
    members = audience.members.values_list("contact_id", flat=True)
    assert sorted(members) == sorted([people[0].pk, people[2].pk])


def test_from_contacts_rejects_foreign_and_unknown_ids_by_path(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    people = _people(workspace)
    stranger = Contact.objects.create(workspace=make_workspace("Other"), external_id="X")
    client = api("write")
    response = client.post(
        "/api/v1/audiences/from-contacts",
        {"name": "x", "contact_ids": [people[0].pk, stranger.pk, 2**40]},
    )
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [d["path"] for d in error["details"]] == ["contact_ids[1]", "contact_ids[2]"]
    assert not Audience.objects.exists()

    empty = client.post("/api/v1/audiences/from-contacts", {"name": "x", "contact_ids": []})
    assert [d["path"] for d in error_of(empty)["details"]] == ["contact_ids"]
    read_only = api("read").post(
        "/api/v1/audiences/from-contacts", {"name": "x", "contact_ids": [people[0].pk]}
    )
    assert read_only.status_code == 403
    assert not Audience.objects.exists()


def _audience(workspace: Workspace) -> Audience:
    people = _people(workspace)
    audience = Audience.objects.create(workspace=workspace, name="A", source="manual")
    audience.members.create(contact=people[0])
    audience.members.create(contact=people[1])
    audience.members.create(contact=people[2])
    return audience


def test_export_line_ids_is_audited_under_the_token(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    audience = _audience(workspace)
    response = api("export").post(f"/api/v1/audiences/{audience.pk}/export", {"kind": "line-ids"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv"
    # The contact without consent is left out and counted.
    assert b"".join(response.streaming_content).decode().splitlines() == IDS[:2]
    assert json.loads(response["X-Otodoke-Export"]) == {
        "rows": 2,
        "files": 1,
        "skipped": {"no_consent": 1},
    }
    log = AuditLog.objects.get(action=AuditAction.EXPORTED)
    assert log.actor is None and log.actor_label.startswith("api:test (")
    assert log.details["source"] == {"audience_id": audience.pk}


def test_export_hashed_emails(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    audience = _audience(workspace)
    response = api("export").post(
        f"/api/v1/audiences/{audience.pk}/export", {"kind": "emails", "hashed": True}
    )
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines == [hashlib.sha256(f"user{i}@example.jp".encode()).hexdigest() for i in (0, 1)]


def test_export_needs_the_export_scope(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    audience = _audience(workspace)
    url = f"/api/v1/audiences/{audience.pk}/export"
    response = api("read", "write", "send", "pii").post(url, {"kind": "line-ids"})
    assert response.status_code == 403
    assert "export" in error_of(response)["message"]
    hashed_ids = api("export").post(url, {"kind": "line-ids", "hashed": True})
    assert [d["path"] for d in error_of(hashed_ids)["details"]] == ["hashed"]
    assert api("export").post(url, {"kind": "names"}).status_code == 422
    assert not AuditLog.objects.filter(action=AuditAction.EXPORTED).exists()


def test_upload_with_bare_carriage_returns(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    # Found by the schema fuzzer: a "\r" line end made the file reader crash (500).
    _people(workspace)
    response = _upload(api("write"), f"{IDS[0]}\r{IDS[1]}\rx\r".encode())
    assert response.status_code == 201  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["matched"] == 2 and [p["line"] for p in body["problems"]] == [3]
    huge = _upload(api("write"), b"U" * 200_000)
    assert huge.json()["problems"][0]["reason"] == "invalid"  # type: ignore[attr-defined]
