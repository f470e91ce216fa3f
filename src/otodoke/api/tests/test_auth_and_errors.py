import re
from collections.abc import Callable

from django.test import Client

from otodoke.api.models import ApiToken
from otodoke.api.tests.conftest import ApiClient, error_of, make_workspace
from otodoke.contacts.models import Contact


def test_no_token_gets_401_json(api: Callable[..., ApiClient]) -> None:
    response = ApiClient(None).get("/api/v1/contacts")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_garbage_token_gets_401_json(db: None) -> None:
    response = ApiClient("otd_nonsense").get("/api/v1/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_read_token_cannot_write(api: Callable[..., ApiClient]) -> None:
    response = api("read").post("/api/v1/contacts/bulk", {"contacts": [{"external_id": "1"}]})
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "missing_scope"
    assert "write" in error["message"]
    assert not Contact.objects.exists()


def test_write_token_cannot_read(api: Callable[..., ApiClient]) -> None:
    # Scopes are independent: an ingest-only token of a POS cannot list customers.
    response = api("write").get("/api/v1/contacts")
    assert response.status_code == 403
    assert error_of(response)["code"] == "missing_scope"


def test_token_sees_only_its_workspace(api: Callable[..., ApiClient]) -> None:
    other = make_workspace("Other")
    stranger = Contact.objects.create(workspace=other, external_id="X1", name="他店")
    client = api("read")
    assert client.get(f"/api/v1/contacts/{stranger.pk}").status_code == 404
    assert client.get("/api/v1/contacts/by-external-id/X1").status_code == 404
    assert client.get("/api/v1/contacts").json()["items"] == []


def test_validation_error_names_the_field_path(api: Callable[..., ApiClient]) -> None:
    body = {"contacts": [{"external_id": "1"}, {"external_id": "2", "marketing_consent": "?"}]}
    response = api("write").post("/api/v1/contacts/bulk", body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert [d["path"] for d in error["details"]] == ["contacts[1].marketing_consent"]
    assert not Contact.objects.exists()  # a malformed request changes nothing


def test_too_many_items_is_a_validation_error(api: Callable[..., ApiClient]) -> None:
    body = {"contacts": [{"external_id": str(i)} for i in range(1001)]}
    response = api("write").post("/api/v1/contacts/bulk", body)
    assert response.status_code == 422
    assert error_of(response)["details"][0]["path"] == "contacts"


def test_malformed_json_is_a_4xx_json_error(api: Callable[..., ApiClient]) -> None:
    response = api("write").post("/api/v1/contacts/bulk", "{not json")
    assert 400 <= response.status_code < 500
    assert error_of(response)["code"] in {"validation_error", "bad_request"}


def test_unknown_endpoint_is_json_404(api: Callable[..., ApiClient]) -> None:
    response = api("read").get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_bad_cursor_is_a_validation_error(api: Callable[..., ApiClient]) -> None:
    response = api("read").get("/api/v1/contacts", {"cursor": "!!!"})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["path"] == "cursor"


def test_rate_limit_answers_429_with_retry_after(api: Callable[..., ApiClient]) -> None:
    client = api("read", rate=60, burst=3)
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/me")
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 2


def test_rate_limit_budget_refills_over_time(api: Callable[..., ApiClient]) -> None:
    client = api("read", rate=60, burst=1)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 429
    # One request a second: moving the stored arrival time back a second frees one request.
    ApiToken.objects.update(throttle_tat=ApiToken.objects.get().throttle_tat - 1_000_000)
    assert client.get("/api/v1/me").status_code == 200


def test_rate_limits_are_per_token(api: Callable[..., ApiClient]) -> None:
    busy, calm = api("read", rate=60, burst=1), api("read", rate=60, burst=1)
    busy.get("/api/v1/me")
    assert busy.get("/api/v1/me").status_code == 429
    assert calm.get("/api/v1/me").status_code == 200


def test_me_describes_the_token(api: Callable[..., ApiClient]) -> None:
    body = api("read", "pii").get("/api/v1/me").json()
    assert body["scopes"] == ["pii", "read"]
    assert body["workspace"]["slug"] == "salon"


def test_openapi_schema_and_docs_are_served(db: None) -> None:
    client = ApiClient(None)
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/contacts/bulk" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200


def test_docs_page_works_offline_from_our_own_static_files(db: None) -> None:
    client = Client()
    page = client.get("/api/v1/docs").content.decode()
    # No external host anywhere in the page: nothing is loaded from a CDN.
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.I), page
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), page
    assert any(a.endswith("swagger-ui.css") for a in assets), page
    for asset in assets:
        assert asset.startswith("/static/"), asset
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert int(response["Content-Length"]) > 0, asset


def test_text_no_database_can_store_is_a_validation_error(api: Callable[..., ApiClient]) -> None:
    client = api("read", "write")
    body = {"contacts": [{"external_id": "C1", "attributes": {"note": "a\u0000b"}}]}
    response = client.post("/api/v1/contacts/bulk", body)
    assert response.status_code == 422
    assert error_of(response)["details"][0]["path"] == "contacts[0].attributes.note"
    assert client.get("/api/v1/contacts", {"q": "\x00"}).status_code == 422
    assert client.get("/api/v1/contacts/by-external-id/a%00b").status_code == 422
    assert not Contact.objects.exists()
