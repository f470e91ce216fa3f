"""Property-based run of the OpenAPI schema: schemathesis generates requests for every
operation (valid and invalid) and checks that no answer is a 5xx and every answer matches
the schema (status code, content type, headers, body). Bounded so it stays a normal test."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from otodoke.api.api import api
from otodoke.api.services import create_token
from otodoke.api.tests.conftest import make_workspace
from otodoke.campaigns.services import create_campaign
from otodoke.contacts.models import Contact
from otodoke.segments.audiences import create_audience_from_segment
from otodoke.segments.services import save_segment

# Built from the same object that serves /api/v1/openapi.json, so no request is needed at
# import; requests go to the real Django WSGI handler in-process.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"))
# The coverage phase (every boundary and negative value of every parameter) is not bounded
# by max_examples and takes over a minute here; it runs when OTODOKE_FUZZ_FULL=1.
schema.config.phases.coverage.enabled = os.environ.get("OTODOKE_FUZZ_FULL") == "1"
APP = WSGIHandler()

CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture
def token(db: None) -> Iterator[str]:
    workspace = make_workspace()
    # Something to find, so reads exercise non-empty answers too.
    contact = Contact.objects.create(
        workspace=workspace, external_id="C1", name="山田", line_user_id="U" + "0" * 32
    )
    # Objects with id 1 in a fresh database, so path parameters sometimes hit real rows.
    # Sending only enqueues a task after commit, which never happens inside the test's
    # transaction, so nothing reaches LINE.
    segment = save_segment(
        workspace,
        name="all",
        definition={"version": 1, "where": {"kind": "all", "conditions": []}},
        actor=None,
    )
    create_audience_from_segment(workspace, name="all", definition=segment, actor=None)
    create_campaign(
        workspace,
        name="spring",
        messages=[{"type": "text", "text": "hello"}],
        target={"include": [{"contacts": [contact.pk]}]},
        actor=None,
    )
    created = create_token(
        workspace,
        name="fuzz",
        scopes=["read", "write", "send", "pii", "export"],
        rate_per_minute=1_000_000,
        burst=1_000_000,
    )
    # A real WSGIHandler closes the database connection after each request, which would end
    # the test's transaction; Django's own test client detaches these receivers the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield created.plaintext
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    # Per operation; 27 operations at 20 examples keep the run around a minute or two.
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors_and_no_schema_violations(
    case: schemathesis.Case,  # type: ignore[type-arg]
    token: str,
) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, app=APP)


# --- the same run with what a JSON schema cannot express (issue 12.14) ----------------------

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
EXTREME_DATES = (
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-12:00",
)


def _mutated(value: Any, replace: Callable[[Any], Any]) -> tuple[Any, bool]:
    """`value` with `replace` applied to every leaf it changes, and whether any changed."""
    if isinstance(value, dict):
        pairs = {k: _mutated(v, replace) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    if isinstance(value, list):
        items = [_mutated(v, replace) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    new = replace(value)
    return new, new is not value


def _extreme_date(value: Any) -> Any:
    if isinstance(value, str) and _DATE.match(value):
        return EXTREME_DATES[len(value) % len(EXTREME_DATES)]
    return value


def _nan(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return math.nan
    return value


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_extreme_dates_anywhere_are_never_a_server_error(
    case: schemathesis.Case,  # type: ignore[type-arg]
    token: str,
) -> None:
    """Every date or time in a generated request (body or query) becomes 0001-01-01 or
    9999-12-31, with the extreme offsets: the answer is a documented 4xx or a success."""
    case.body, _ = _mutated(case.body, _extreme_date)
    if case.query:
        case.query, _ = _mutated(dict(case.query), _extreme_date)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, app=APP)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_nan_anywhere_in_a_body_is_a_400_naming_it(
    case: schemathesis.Case,  # type: ignore[type-arg]
    token: str,
) -> None:
    """Every number in a generated JSON body becomes NaN (which JSON cannot carry), sent as
    the `NaN` a JavaScript or Python client writes."""
    body, changed = _mutated(case.body, _nan)
    if not changed or case.media_type != "application/json":
        return
    query = f"?{urlencode(case.query, doseq=True)}" if case.query else ""
    response = getattr(Client(), case.method.lower())(
        case.formatted_path + query,
        json.dumps(body, allow_nan=True),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert "NaN" in error["details"][0]["message"]
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (path, method)
        for path, methods in schema.raw_schema["paths"].items()
        for method, operation in methods.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ],
)
def test_every_json_body_over_the_upload_limit_is_413_json(
    token: str, settings: Any, path: str, method: str
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    client = Client()
    url = re.sub(r"\{[^}]+\}", "1", path)
    response = getattr(client, method)(
        url,
        json.dumps({"padding": "x" * 3_000}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 413, (path, response.content)
    assert response.json()["error"]["code"] == "too_large"
    assert "no-store" in response["Cache-Control"]
