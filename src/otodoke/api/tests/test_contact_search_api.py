"""GET /api/v1/contacts takes the contact list's customer-search filters (age, gender, last
visit, visits, spend, LINE, consent, who), compiled as the same segment definition."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from django.utils import timezone

from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.contacts.models import Contact, LineStatus
from otodoke.workspaces.models import Workspace


def people(workspace: Workspace) -> None:
    now, today = timezone.now(), timezone.localdate()
    for ext, gender, age, days, visits, spent in [
        ("A", "female", 34, 90, 6, 48_000),
        ("B", "female", 34, 10, 6, 48_000),
        ("C", "male", 34, 90, 6, 48_000),
        ("D", "female", 52, 90, 6, 48_000),
        ("E", "female", 36, 75, 1, 48_000),
    ]:
        Contact.objects.create(
            workspace=workspace,
            external_id=ext,
            gender=gender,
            birth_date=date(today.year - age, 1, 1),
            last_visit_at=now - timedelta(days=days),
            visit_count=visits,
            total_spent=spent,
        )
    Contact.objects.create(
        workspace=workspace, line_user_id="U" + "a" * 32, line_status=LineStatus.FOLLOWING
    )


def ids(response: object) -> list[str | None]:
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    return sorted(
        (c["external_id"] or "-")
        for c in response.json()["items"]  # type: ignore[attr-defined]
    )


def test_the_list_filters_narrow_the_api_search(
    workspace: Workspace, api: Callable[..., ApiClient]
) -> None:
    people(workspace)
    client = api("read")
    query = (
        "age_min=30&age_max=39&gender=female&last_visit=before&last_visit_days=60"
        "&visits_min=3&spent_min=20000"
    )
    assert ids(client.get(f"/api/v1/contacts?{query}")) == ["A"]
    assert ids(client.get("/api/v1/contacts?gender=female&gender=male&age_max=40")) == [
        "A",
        "B",
        "C",
        "E",
    ]
    assert ids(client.get("/api/v1/contacts?who=line_only")) == ["-"]
    assert len(ids(client.get("/api/v1/contacts"))) == 6  # no filter: everyone, as before


def test_bad_search_filters_are_a_validation_error(
    workspace: Workspace, api: Callable[..., ApiClient]
) -> None:
    client = api("read")
    response = client.get("/api/v1/contacts?age_min=40&age_max=30")
    assert response.status_code == 422
    assert "min is greater than max" in error_of(response)["message"]
    response = client.get("/api/v1/contacts?last_visit=before")
    assert response.status_code == 422
    assert client.get("/api/v1/contacts?prefecture=東京").status_code == 422
    assert client.get("/api/v1/contacts?line=friends").status_code == 422


def test_the_filters_are_in_the_openapi_schema(api: Callable[..., ApiClient]) -> None:
    schema = api("read").get("/api/v1/openapi.json").json()
    names = {p["name"] for p in schema["paths"]["/api/v1/contacts"]["get"]["parameters"]}
    assert {"age_min", "gender", "last_visit", "spent_min", "line", "who"} <= names
