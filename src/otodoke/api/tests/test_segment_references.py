"""A segment that names something this workspace does not have is refused with the path, never
answered 0: another workspace's campaign, link or audience, a deleted audience, and a flag
given as 1 instead of true (issue 12.17). Over the API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import translation

from otodoke.api.tests.conftest import ApiClient, error_of, make_workspace
from otodoke.campaigns.models import Campaign
from otodoke.contacts.models import Contact
from otodoke.segments.audiences import create_audience_from_contacts
from otodoke.tracking.services import create_tracked_link
from otodoke.workspaces.models import Workspace

TEXT = [{"type": "text", "text": "hi"}]


def _foreign_references(workspace: Workspace) -> dict[str, tuple[dict[str, Any], str, str]]:
    """Conditions naming another workspace's rows, with the refused path and message."""
    other = make_workspace("Other shop")
    campaign = Campaign.objects.create(workspace=other, name="theirs", messages=TEXT)
    link = create_tracked_link(other, "https://example.com/x", campaign_id=campaign.pk)
    contact = Contact.objects.create(workspace=other, external_id="X1")
    audience = create_audience_from_contacts(
        other, name="theirs", contact_ids=[contact.pk], actor=None
    )
    gone = create_audience_from_contacts(workspace, name="gone", contact_ids=[], actor=None)
    gone_id = gone.pk
    gone.delete()
    return {
        "campaign": (
            {"kind": "clicked", "campaign_id": campaign.pk},
            "$.where.campaign_id",
            f"no campaign {campaign.pk} in this workspace",
        ),
        "link": (
            {"kind": "clicked", "link_id": link.pk},
            "$.where.link_id",
            f"no tracked link {link.pk} in this workspace",
        ),
        "audience": (
            {"kind": "in_audience", "audience_id": audience.pk},
            "$.where.audience_id",
            f"no audience {audience.pk} in this workspace",
        ),
        "deleted audience": (
            {"kind": "in_audience", "audience_id": gone_id},
            "$.where.audience_id",
            f"no audience {gone_id} in this workspace",
        ),
    }


@pytest.mark.parametrize("which", ["campaign", "link", "audience", "deleted audience"])
@override_settings(LANGUAGE_CODE="en")
def test_count_refuses_a_reference_outside_the_workspace_with_its_path(
    api: Callable[..., ApiClient], workspace: Workspace, which: str
) -> None:
    where, path, message = _foreign_references(workspace)[which]
    response = api("read").post(
        "/api/v1/segments/count", {"definition": {"version": 1, "where": where}}
    )
    assert response.status_code == 422, response.content
    assert error_of(response)["details"] == [{"path": f"definition.{path[2:]}", "message": message}]


def test_the_refusal_is_japanese_by_default(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    where, _, _ = _foreign_references(workspace)["campaign"]
    response = api("read").post(
        "/api/v1/segments/count", {"definition": {"version": 1, "where": where}}
    )
    assert response.status_code == 422
    assert "このワークスペースに" in error_of(response)["details"][0]["message"]


def test_own_campaign_link_and_audience_are_still_counted(
    api: Callable[..., ApiClient], workspace: Workspace
) -> None:
    campaign = Campaign.objects.create(workspace=workspace, name="ours", messages=TEXT)
    link = create_tracked_link(workspace, "https://example.com/y", campaign_id=campaign.pk)
    contact = Contact.objects.create(workspace=workspace, external_id="C1")
    audience = create_audience_from_contacts(
        workspace, name="ours", contact_ids=[contact.pk], actor=None
    )
    client = api("read")
    for where, total in [
        ({"kind": "clicked", "campaign_id": campaign.pk}, 0),
        ({"kind": "clicked", "link_id": link.pk}, 0),
        ({"kind": "in_audience", "audience_id": audience.pk}, 1),
    ]:
        response = client.post(
            "/api/v1/segments/count", {"definition": {"version": 1, "where": where}}
        )
        assert response.status_code == 200, response.content
        assert response.json()["total"] == total


@pytest.mark.parametrize("kind", ["line_linked", "consent", "has_email", "has_phone"])
@pytest.mark.parametrize("value", [1, 0, "true"])
def test_a_flag_must_be_true_or_false_not_a_number_or_text(
    api: Callable[..., ApiClient], kind: str, value: object
) -> None:
    where = {"kind": kind, "value": value}
    response = api("read").post(
        "/api/v1/segments/count", {"definition": {"version": 1, "where": where}}
    )
    assert response.status_code == 422, response.content
    assert error_of(response)["details"][0]["path"].startswith("definition.where.value")


@translation.override("en")
def test_the_cli_refuses_the_same_with_the_path(workspace: Workspace, tmp_path: Path) -> None:
    references = _foreign_references(workspace)
    file = tmp_path / "d.json"
    for where, path, message in references.values():
        file.write_text(json.dumps({"version": 1, "where": where}))
        with pytest.raises(CommandError) as caught:
            call_command("segment", "count", "--workspace", workspace.slug, "--definition", file)
        assert f"{path}: {message}" in str(caught.value)
    file.write_text(json.dumps({"version": 1, "where": {"kind": "line_linked", "value": 1}}))
    with pytest.raises(CommandError, match=r"\$\.where\.value"):
        call_command("segment", "count", "--workspace", workspace.slug, "--definition", file)
