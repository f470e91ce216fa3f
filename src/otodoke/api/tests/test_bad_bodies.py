"""Bodies Django or Python's json cannot read answer a 4xx JSON error that names the problem,
never a 500: over Django's upload limit, a multipart without a boundary, NaN / Infinity,
nesting thousands of levels deep, NUL in form fields (PostgreSQL cannot store it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.contacts.models import Contact
from otodoke.segments.models import Audience

LINE_ID = "U" + "a" * 32


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_a_body_over_the_upload_limit_is_413_json(api: Callable[..., ApiClient]) -> None:
    body = {"contacts": [{"external_id": "C1", "name": "x" * 20_000}]}
    response = api("write").post("/api/v1/contacts/bulk", body)
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert "10,000" in error["message"]
    assert not Contact.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000, LANGUAGE_CODE="ja")
def test_the_413_message_is_japanese_by_default(api: Callable[..., ApiClient]) -> None:
    response = api("write").post("/api/v1/contacts/bulk", {"x": "y" * 20_000})
    assert response.status_code == 413
    assert "10,000" in error_of(response)["message"]
    assert "バイト" in error_of(response)["message"]


def test_a_multipart_upload_without_a_boundary_is_400(api: Callable[..., ApiClient]) -> None:
    client = api("write")
    response = client.client.post(
        "/api/v1/audiences/upload",
        b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nA\r\n--x--\r\n',
        content_type="multipart/form-data",
        headers=client._headers(),
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_request"
    assert "boundary" in error["message"]
    assert not Audience.objects.exists()


def test_nul_in_a_multipart_field_is_422_with_the_field(api: Callable[..., ApiClient]) -> None:
    client = api("write")
    upload = SimpleUploadedFile("ids.txt", LINE_ID.encode())
    response = client.client.post(
        "/api/v1/audiences/upload",
        {"name": "VIP\x00", "file": upload},
        headers=client._headers(),
    )
    assert response.status_code == 422
    assert error_of(response)["details"][0]["path"] == "name"
    assert not Audience.objects.exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"x": NaN}', "NaN"),
        ('{"x": Infinity}', "Infinity"),
        ('{"x": -Infinity}', "-Infinity"),
        ('{"x": 1e999}', "1e999"),
    ],
)
def test_nan_and_infinity_in_contact_attributes_are_400(
    api: Callable[..., ApiClient], text: str, problem: str
) -> None:
    body = '{"contacts": [{"external_id": "C1", "attributes": ' + text + "}]}"
    response = api("write").post("/api/v1/contacts/bulk", body)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "bad_request"
    assert problem in error["details"][0]["message"]
    assert not Contact.objects.exists()


def test_a_body_nested_5000_deep_is_400_naming_the_nesting(
    api: Callable[..., ApiClient],
) -> None:
    deep = '{"definition": ' + "[" * 5000 + "]" * 5000 + "}"
    response = api("read").post("/api/v1/segments/count", deep)
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert details == [{"path": "", "message": "入れ子が 64 段より深くなっています"}]
    english = api("read").client.post(
        "/api/v1/segments/count",
        deep,
        content_type="application/json",
        headers={**api("read")._headers(), "Accept-Language": "en"},
    )
    assert error_of(english)["details"][0]["message"] == "Nested deeper than 64 levels"


@pytest.mark.parametrize(
    ("where", "path"),
    [
        ({"kind": "last_visit", "op": "before", "date": "0001-01-01"}, "definition.where.date"),
        ({"kind": "event", "event": "visit", "value": 2**70}, "definition.where.value"),
        (
            {"kind": "attribute", "key": "memo", "op": "contains", "value": "a" * 60_000},
            "definition.where.value",
        ),
        (
            {"kind": "tags", "match": "any", "names": ["VIP", "a\u0000b"]},
            "definition.where.names[1]",
        ),
    ],
)
def test_segment_count_refuses_what_no_database_answers_with_the_path(
    api: Callable[..., ApiClient], where: dict[str, object], path: str
) -> None:
    response = api("read").post(
        "/api/v1/segments/count", {"definition": {"version": 1, "where": where}}
    )
    assert response.status_code == 422, response.content
    assert error_of(response)["details"][0]["path"].startswith(path)
