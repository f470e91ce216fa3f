from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace

LINE_ID = "U" + "a" * 32


def test_bulk_upsert_creates_then_changes_nothing_on_repeat(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    client = api("write")
    body = {
        "contacts": [
            {"external_id": "C1", "name": "山田 花子", "phone": "090-1234-5678", "tags": ["vip"]},
            {"external_id": "C2", "prefecture": "東京", "birth_date": "平成2年1月2日"},
        ]
    }
    first = client.post("/api/v1/contacts/bulk", body).json()
    assert (first["created"], first["updated"], first["unchanged"], first["failed"]) == (
        2, 0, 0, 0,
    )  # fmt: skip
    c1 = Contact.objects.get(workspace=workspace, external_id="C1")
    assert c1.phone == "+819012345678"
    assert Contact.objects.get(external_id="C2").prefecture == "東京都"
    assert [r["id"] for r in first["results"]] == [
        c1.pk,
        Contact.objects.get(external_id="C2").pk,
    ]
    again = client.post("/api/v1/contacts/bulk", body).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_bulk_upsert_reports_bad_items_by_path_and_stores_the_rest(
    api: Callable[..., ApiClient],
) -> None:
    body = {
        "contacts": [
            {"external_id": "C1", "name": "ok"},
            {"external_id": "C2", "phone": "12"},
            {"name": "no key"},
            {"external_id": "C4", "prefecture": "Atlantis", "line_user_id": "nope"},
        ]
    }
    out = api("write").post("/api/v1/contacts/bulk", body).json()
    assert out["failed"] == 3
    assert [r["status"] for r in out["results"]] == ["ok", "error", "error", "error"]
    paths = [[d["path"] for d in r["errors"]] for r in out["results"]]
    assert paths == [
        [],
        ["contacts[1].phone"],
        ["contacts[2].external_id"],
        ["contacts[3].prefecture", "contacts[3].line_user_id"],
    ]
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["C1"]


def test_upsert_one_by_external_id(api: Callable[..., ApiClient]) -> None:
    client = api("write", "read")
    response = client.put("/api/v1/contacts/by-external-id/C9", {"name": "佐藤", "tags": ["a"]})
    assert response.status_code == 200
    assert response.json()["name"] == "佐藤"
    assert response.json()["tags"] == ["a"]
    response = client.put("/api/v1/contacts/by-external-id/C9", {"email": "bad@"})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["path"] == "email"


def test_upsert_links_a_line_user_id(api: Callable[..., ApiClient]) -> None:
    client = api("write", "read", "pii")
    response = client.put("/api/v1/contacts/by-external-id/C1", {"line_user_id": LINE_ID})
    assert response.json()["line_user_id"] == LINE_ID
    assert "line" in response.json()["tags"]


def test_get_contact_by_id_and_by_external_id(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    contact = Contact.objects.create(workspace=workspace, external_id="C1", name="A")
    client = api("read")
    assert client.get(f"/api/v1/contacts/{contact.pk}").json()["external_id"] == "C1"
    assert client.get("/api/v1/contacts/by-external-id/C1").json()["id"] == contact.pk
    missing = client.get("/api/v1/contacts/by-external-id/nope")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "not_found"


def test_pii_is_hidden_without_the_pii_scope(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    Contact.objects.create(
        workspace=workspace,
        external_id="C1",
        email="a@example.com",
        phone="+819012345678",
        line_user_id=LINE_ID,
        line_status=LineStatus.FOLLOWING,
    )
    plain = api("read").get("/api/v1/contacts").json()["items"][0]
    assert (plain["email"], plain["phone"], plain["line_user_id"]) == (None, None, None)
    assert plain["has_line"] is True
    assert LINE_ID not in str(api("read").get("/api/v1/contacts").content)
    full = api("read", "pii").get("/api/v1/contacts").json()["items"][0]
    assert (full["email"], full["phone"], full["line_user_id"]) == (
        "a@example.com", "+819012345678", LINE_ID,
    )  # fmt: skip


def test_filtering_by_pii_needs_the_pii_scope(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1", line_user_id=LINE_ID)
    denied = api("read").get("/api/v1/contacts", {"line_user_id": LINE_ID})
    assert denied.status_code == 403
    found = api("read", "pii").get("/api/v1/contacts", {"line_user_id": LINE_ID}).json()
    assert [c["external_id"] for c in found["items"]] == ["C1"]


def test_search_filters(api: Callable[..., ApiClient], workspace: Workspace) -> None:
    Contact.objects.create(workspace=workspace, external_id="A1", name="山田", name_kana="ヤマダ")
    Contact.objects.create(
        workspace=workspace, external_id="B1", name="佐藤", line_status=LineStatus.FOLLOWING
    )
    client = api("read", "write")
    client.post("/api/v1/tags/add", {"tags": ["vip"], "external_ids": ["B1"]})

    def ids(**params: str) -> list[str]:
        return [c["external_id"] for c in client.get("/api/v1/contacts", params).json()["items"]]

    assert ids(q="ヤマ") == ["A1"]
    assert ids(q="B") == ["B1"]
    assert ids(tag="vip") == ["B1"]
    assert ids(line_status="following") == ["B1"]
    assert ids(external_id="A1") == ["A1"]


def test_cursor_pagination_walks_every_contact_once(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    Contact.objects.bulk_create(
        Contact(workspace=workspace, external_id=f"C{i:03}") for i in range(25)
    )
    client = api("read")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/contacts", params).json()
        seen += [c["external_id"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"C{i:03}" for i in range(25)]


def test_a_contact_added_while_paging_appears_at_the_end(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    Contact.objects.bulk_create(Contact(workspace=workspace, external_id=f"C{i}") for i in range(4))
    client = api("read")
    first = client.get("/api/v1/contacts", {"limit": "2"}).json()
    Contact.objects.create(workspace=workspace, external_id="NEW")
    second = client.get("/api/v1/contacts", {"limit": "5", "cursor": first["next_cursor"]}).json()
    assert [c["external_id"] for c in second["items"]] == ["C2", "C3", "NEW"]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("offset", "instant"),
    [
        ("%2B17:49", datetime(2025, 12, 31, 6, 11, tzinfo=UTC)),
        ("-23:59", datetime(2026, 1, 1, 23, 59, tzinfo=UTC)),
    ],
)
def test_updated_since_offsets_postgresql_cannot_store_are_normalised_to_utc(
    api: Callable[..., ApiClient], workspace: Workspace, offset: str, instant: datetime
) -> None:
    Contact.objects.bulk_create(
        Contact(workspace=workspace, external_id=name) for name in ("BEFORE", "AT", "AFTER")
    )
    second = timedelta(seconds=1)
    for name, updated in (
        ("BEFORE", instant - second),
        ("AT", instant),
        ("AFTER", instant + second),
    ):
        Contact.objects.filter(external_id=name).update(updated_at=updated)
    response = api("read").get(f"/api/v1/contacts?updated_since=2026-01-01T00:00:00{offset}")
    assert response.status_code == 200, response.content
    # The same instant in UTC: the contact updated a second before it is left out.
    assert sorted(c["external_id"] for c in response.json()["items"]) == ["AFTER", "AT"]


def test_updated_since_without_an_offset_is_a_validation_error(
    api: Callable[..., ApiClient],
) -> None:
    response = api("read").get("/api/v1/contacts?updated_since=2026-01-01T00:00:00")
    assert response.status_code == 422
    assert error_of(response)["details"][0]["path"] == "updated_since"
