from collections.abc import Callable

from otodoke.api.tests.conftest import ApiClient, error_of, make_workspace
from otodoke.contacts.models import Contact, ContactTag, Event
from otodoke.workspaces.models import Workspace


def _event(ext: str, customer: str = "C1", **extra: object) -> dict[str, object]:
    return {
        "external_id": ext,
        "contact_external_id": customer,
        "kind": "purchase",
        "occurred_at": "2026-05-01T10:00:00+09:00",
        "amount": 1200,
        **extra,
    }


def test_event_ingest_is_idempotent_and_updates_rollups(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1")
    client = api("write")
    body = {"events": [_event("E1"), _event("E2", amount=800)]}
    first = client.post("/api/v1/events/bulk", body).json()
    assert (first["created"], first["unchanged"], first["failed"]) == (2, 0, 0)
    again = client.post("/api/v1/events/bulk", body).json()
    assert (again["created"], again["unchanged"]) == (0, 2)
    assert Event.objects.count() == 2
    contact = Contact.objects.get()
    assert (contact.purchase_count, contact.total_spent) == (2, 2000)


def test_event_items_that_cannot_be_stored_are_reported_by_path(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1")
    stranger = Contact.objects.create(workspace=make_workspace("Other"), external_id="C1")
    body = {
        "events": [
            _event("E1"),
            _event("E2", customer="nobody"),
            _event("E3", kind="dance"),
            {**_event("E4"), "contact_external_id": None, "contact_id": stranger.pk},
        ]
    }
    out = api("write").post("/api/v1/events/bulk", body).json()
    assert [r["status"] for r in out["results"]] == ["ok", "error", "error", "error"]
    assert [r["errors"][0]["path"] for r in out["results"][1:]] == [
        "events[1].contact_external_id",
        "events[2].kind",
        "events[3].contact_id",
    ]
    assert list(Event.objects.values_list("external_id", flat=True)) == ["E1"]
    assert not stranger.events.exists()


def test_event_without_time_zone_or_contact_is_rejected_whole(
    api: Callable[..., ApiClient],
) -> None:
    body = {
        "events": [
            _event("E1", occurred_at="2026-05-01T10:00:00"),
            {**_event("E2"), "contact_external_id": None},
        ]
    }
    response = api("write").post("/api/v1/events/bulk", body)
    assert response.status_code == 422
    paths = [d["path"] for d in error_of(response)["details"]]
    assert paths == ["events[0].occurred_at", "events[1]"]
    assert not Event.objects.exists()


def test_tags_are_added_and_removed_in_bulk(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    a = Contact.objects.create(workspace=workspace, external_id="A")
    Contact.objects.create(workspace=workspace, external_id="B")
    client = api("write", "read")
    out = client.post(
        "/api/v1/tags/add",
        {"tags": ["vip", "spring"], "contact_ids": [a.pk], "external_ids": ["B", "ghost"]},
    ).json()
    assert out["contacts"] == 2
    assert [e["path"] for e in out["errors"]] == ["external_ids[1]"]
    assert ContactTag.objects.count() == 4
    tags = client.get("/api/v1/tags").json()["items"]
    assert {(t["name"], t["contacts"]) for t in tags} == {("vip", 2), ("spring", 2)}
    removed = client.post("/api/v1/tags/remove", {"tags": ["vip"], "external_ids": ["A", "B"]})
    assert removed.json()["pairs"] == 2
    assert set(ContactTag.objects.values_list("tag__name", flat=True)) == {"spring"}


def test_tagging_needs_contacts_and_the_write_scope(api: Callable[..., ApiClient]) -> None:
    response = api("write").post("/api/v1/tags/add", {"tags": ["vip"]})
    assert response.status_code == 422
    assert (
        api("read").post("/api/v1/tags/add", {"tags": ["x"], "contact_ids": [1]}).status_code == 403
    )


def test_tag_list_is_paginated(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    from otodoke.contacts.models import Tag

    Tag.objects.bulk_create(Tag(workspace=workspace, name=f"t{i:02}") for i in range(5))
    client = api("read")
    first = client.get("/api/v1/tags", {"limit": "3"}).json()
    second = client.get("/api/v1/tags", {"limit": "3", "cursor": first["next_cursor"]}).json()
    assert [t["name"] for t in first["items"] + second["items"]] == [f"t{i:02}" for i in range(5)]
    assert second["next_cursor"] is None
