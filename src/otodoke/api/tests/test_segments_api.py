"""Segments over the API: CRUD, schema errors with request paths, count, preview and PII."""

from __future__ import annotations

from collections.abc import Callable

from otodoke.api.tests.conftest import ApiClient, error_of, make_workspace
from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.contacts.models import Contact, LineStatus
from otodoke.segments.models import Segment
from otodoke.workspaces.models import AuditAction, AuditLog, Workspace

WOMEN = {"version": 1, "where": {"kind": "gender", "values": ["female"]}}
LINE_ID = "U" + "a" * 32


def _contacts(workspace: Workspace) -> None:
    Contact.objects.create(
        workspace=workspace,
        external_id="C1",
        name="花子",
        gender="female",
        email="hanako@example.jp",
        phone="+819012345678",
        line_user_id=LINE_ID,
        line_status=LineStatus.FOLLOWING,
        marketing_consent=True,
    )
    Contact.objects.create(workspace=workspace, external_id="C2", name="次郎", gender="male")
    Contact.objects.create(workspace=workspace, external_id="C3", name="桜", gender="female")


def test_create_read_update_list(api: Callable[..., ApiClient]) -> None:
    client = api("read", "write")
    created = client.post("/api/v1/segments", {"name": "女性", "definition": WOMEN})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["definition"] == WOMEN and body["schema_version"] == 1
    url = f"/api/v1/segments/{body['id']}"
    assert client.get(url).json()["name"] == "女性"
    men = {"version": 1, "where": {"kind": "gender", "values": ["male"]}}
    updated = client.put(url, {"name": "男性", "description": "d", "definition": men})
    assert updated.status_code == 200
    assert Segment.objects.get().definition == men
    listed = client.get("/api/v1/segments", {"limit": 1}).json()
    assert [s["name"] for s in listed["items"]] == ["男性"] and listed["next_cursor"] is None


def test_definition_problems_have_request_paths(api: Callable[..., ApiClient]) -> None:
    definition = {
        "version": 1,
        "where": {"kind": "all", "conditions": [{"kind": "age", "min": 50, "max": 20}]},
    }
    response = api("write").post("/api/v1/segments", {"name": "x", "definition": definition})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_definition"
    assert [d["path"] for d in error["details"]] == ["definition.where.conditions[0]"]
    missing = api("write").post(
        "/api/v1/segments",
        {
            "name": "x",
            "definition": {"version": 1, "where": {"kind": "in_audience", "audience_id": 9}},
        },
    )
    assert [d["path"] for d in error_of(missing)["details"]] == ["definition.where.audience_id"]
    assert not Segment.objects.exists()


def test_duplicate_name_is_a_conflict(api: Callable[..., ApiClient]) -> None:
    client = api("write")
    assert client.post("/api/v1/segments", {"name": "A", "definition": WOMEN}).status_code == 201
    response = client.post("/api/v1/segments", {"name": "A", "definition": WOMEN})
    assert response.status_code == 409
    assert error_of(response)["details"][0]["path"] == "name"


def test_scopes_and_workspaces(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    response = api("read").post("/api/v1/segments", {"name": "A", "definition": WOMEN})
    assert response.status_code == 403 and error_of(response)["code"] == "missing_scope"
    other = Segment.objects.create(workspace=make_workspace("Other"), name="x", definition=WOMEN)
    for path in ("", "/count", "/preview"):
        assert api("read").get(f"/api/v1/segments/{other.pk}{path}").status_code == 404


def test_count_saved_and_unsaved(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    _contacts(workspace)
    segment = Segment.objects.create(workspace=workspace, name="w", definition=WOMEN)
    client = api("read")
    assert client.get(f"/api/v1/segments/{segment.pk}/count").json() == {
        "total": 2,
        "reachable": 1,
    }
    unsaved = client.post("/api/v1/segments/count", {"definition": WOMEN})
    assert unsaved.json() == {"total": 2, "reachable": 1}
    bad = client.post("/api/v1/segments/count", {"definition": {"version": 2}})
    assert bad.status_code == 422
    assert {d["path"] for d in error_of(bad)["details"]} == {
        "definition.version",
        "definition.where",
    }


def test_preview_masks_pii_without_the_scope(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    _contacts(workspace)
    segment = Segment.objects.create(workspace=workspace, name="w", definition=WOMEN)
    url = f"/api/v1/segments/{segment.pk}/preview"
    masked = api("read").get(url, {"limit": 1}).json()
    assert masked["pii_visible"] is False and masked["count"]["total"] == 2
    (row,) = masked["items"]
    assert row["line_user_id"] == "Uaa…aa"
    assert row["email"] == "h***@example.jp" and row["phone"] == "*********5678"
    shown = api("read", "pii").get(url, {"limit": 1}).json()
    assert shown["pii_visible"] is True
    assert shown["items"][0]["line_user_id"] == LINE_ID
    assert shown["items"][0]["email"] == "hanako@example.jp"
    second = api("read").get(url, {"limit": 1, "offset": 1}).json()
    assert [r["external_id"] for r in second["items"]] == ["C3"]
    assert api("read").get(url, {"limit": 101}).status_code == 422


def test_delete_removes_the_segment_and_audits_it(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    segment = Segment.objects.create(workspace=workspace, name="女性", definition=WOMEN)
    response = api("write").delete(f"/api/v1/segments/{segment.pk}")
    assert response.status_code == 204, response.content
    assert not Segment.objects.filter(pk=segment.pk).exists()
    entry = AuditLog.objects.get(workspace=workspace, action=AuditAction.SEGMENT_DELETED)
    assert entry.actor_label.startswith("api:test (")
    assert entry.details["definition"] == WOMEN and entry.details["name"] == "女性"


def test_delete_unknown_or_other_workspace_segment_is_404(
    api: Callable[..., ApiClient],
) -> None:
    other = Segment.objects.create(workspace=make_workspace("Other"), name="x", definition=WOMEN)
    client = api("write")
    for segment_id in (other.pk, other.pk + 1000):
        response = client.delete(f"/api/v1/segments/{segment_id}")
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert Segment.objects.filter(pk=other.pk).exists()


def test_delete_needs_the_write_scope(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    segment = Segment.objects.create(workspace=workspace, name="x", definition=WOMEN)
    response = api("read", "send").delete(f"/api/v1/segments/{segment.pk}")
    assert response.status_code == 403 and error_of(response)["code"] == "missing_scope"
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_delete_is_refused_while_a_segment_or_unfinished_campaign_uses_it(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    base = Segment.objects.create(workspace=workspace, name="女性", definition=WOMEN)
    nested = {
        "version": 1,
        "where": {"kind": "not", "condition": {"kind": "in_segment", "segment_id": base.pk}},
    }
    user = Segment.objects.create(workspace=workspace, name="女性以外", definition=nested)
    message = [{"type": "text", "text": "hi"}]
    draft = Campaign.objects.create(
        workspace=workspace, name="春", messages=message, target={"include": [{"segment": base.pk}]}
    )
    # An unsaved definition in a scheduled campaign's exclusions that names the segment.
    scheduled = Campaign.objects.create(
        workspace=workspace,
        name="夏",
        messages=message,
        status=CampaignStatus.SCHEDULED,
        target={"all_friends": True, "exclude": [{"definition": nested}]},
    )
    # A campaign that already went out froze its recipients: it does not hold the segment.
    Campaign.objects.create(
        workspace=workspace,
        name="冬",
        messages=message,
        status=CampaignStatus.SENT,
        target={"include": [{"segment": base.pk}]},
    )
    client = api("write")
    response = client.delete(f"/api/v1/segments/{base.pk}")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "segment_in_use"
    details = {d["path"]: d["message"] for d in error["details"]}
    assert set(details) == {"segments[0]", "campaigns[0]", "campaigns[1]"}
    assert "女性以外" in details["segments[0]"] and str(user.pk) in details["segments[0]"]
    assert "春" in details["campaigns[0]"] and "夏" in details["campaigns[1]"]
    assert Segment.objects.filter(pk=base.pk).exists()
    assert not AuditLog.objects.filter(action=AuditAction.SEGMENT_DELETED).exists()

    user.delete()
    Campaign.objects.filter(pk__in=[draft.pk, scheduled.pk]).update(status=CampaignStatus.CANCELLED)
    assert client.delete(f"/api/v1/segments/{base.pk}").status_code == 204
