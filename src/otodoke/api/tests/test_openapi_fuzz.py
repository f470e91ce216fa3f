"""Property-based run of the OpenAPI schema: schemathesis generates requests for every
operation (valid and invalid) and checks that no answer is a 5xx and every answer matches
the schema (status code, content type, headers, body). Bounded so it stays a normal test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
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
