"""Values no database stores are refused with their path, never a 500 (issue 12.14): an event
amount of 2**70 (SQLite binds 64-bit integers only), NUL characters in tag names and
properties (PostgreSQL refuses them), NaN in contact attributes, through the API and the CLI,
whose command-line values do not pass the API's JSON edge. Run on both databases."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.contacts.models import Contact, Event, Tag
from otodoke.workspaces.models import Workspace


def _event(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "contact_external_id": "C1",
        "kind": "purchase",
        "occurred_at": "2026-05-01T10:00:00+09:00",
        "amount": 1200,
        **fields,
    }


def _paths(response: Any) -> list[str]:
    if response.status_code == 200:
        return [e["path"] for r in response.json()["results"] for e in r.get("errors", [])]
    return [d["path"] for d in error_of(response)["details"]]


@pytest.mark.parametrize(
    ("event", "path"),
    [
        ({"amount": 2**70}, "events[0].amount"),
        ({"properties": {"memo": "a\x00b"}}, "events[0].properties"),
    ],
)
def test_an_event_value_no_database_stores_is_refused_with_its_path(
    api: Callable[..., ApiClient], workspace: Workspace, event: dict[str, Any], path: str
) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1")
    response = api("write").post("/api/v1/events/bulk", {"events": [_event("E1", **event)]})
    assert response.status_code in (200, 400, 422), response.content
    assert any(p.startswith(path) for p in _paths(response)), response.content
    assert not Event.objects.exists()


@pytest.mark.parametrize("name", ["VIP\x00", "a\ud800"])
def test_a_tag_name_with_nul_or_a_lone_surrogate_is_refused(
    api: Callable[..., ApiClient], workspace: Workspace, name: str
) -> None:
    contact = Contact.objects.create(workspace=workspace, external_id="C1")
    client = api("write")
    added = client.post("/api/v1/tags/add", {"tags": ["ok", name], "contact_ids": [contact.pk]})
    assert added.status_code in (400, 422), added.content
    assert any(p.startswith("tags[1]") or p == "" for p in _paths(added)), added.content
    upsert = client.post(
        "/api/v1/contacts/bulk", {"contacts": [{"external_id": "C2", "tags": [name]}]}
    )
    assert upsert.status_code in (200, 400, 422), upsert.content
    assert any(p.startswith("contacts[0].tags") or p == "" for p in _paths(upsert))
    assert not Tag.objects.exists()
    assert not Contact.objects.filter(external_id="C2").exists()


def _cli(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.suppress(CommandError):
        call_command(*args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def test_the_cli_refuses_the_same(workspace: Workspace, tmp_path: Path) -> None:
    Contact.objects.create(workspace=workspace, external_id="C1")
    events = tmp_path / "events.json"
    events.write_text(json.dumps([_event("E1", amount=2**70)]))
    out = _cli("event", "bulk", "--workspace", workspace.slug, "--file", str(events))
    assert "events[0].amount" in json.dumps(out)
    assert not Event.objects.exists()
    contacts = tmp_path / "contacts.jsonl"
    contacts.write_text('{"external_id": "C2", "attributes": {"score": NaN}}\n')
    out = _cli("contact", "bulk", "--workspace", workspace.slug, "--file", str(contacts))
    assert "NaN" in json.dumps(out)
    contact = Contact.objects.get(external_id="C1")
    for tags in ("VIP\x00", "ok,a\ud800"):
        out = _cli(
            "tag", "add", "--workspace", workspace.slug, "--tags", tags, "--contacts",
            str(contact.pk),
        )  # fmt: skip
        assert [d["path"] for d in out["error"]["details"]] == ["--tags"]
    assert not Tag.objects.exists()
    out = _cli("contact", "upsert", "C3", "--workspace", workspace.slug, "--set", "name=a\x00")
    assert [d["path"] for d in out["error"]["details"]] == ["--set"]
    with pytest.raises(CommandError, match="--workspace"):
        call_command("tag", "list", "--workspace", "salon\x00")
    assert not Contact.objects.filter(external_id="C2").exists()
