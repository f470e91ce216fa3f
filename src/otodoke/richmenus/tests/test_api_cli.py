"""The REST API and the CLI over the same operations, against the emulator over HTTP: a menu
made from a base64 image, its areas, publish, default; a rule and a sync; the contact's menu;
LINE's image rules answered as 422 with the field; and the schema lists the endpoints."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from otodoke.api.api import api as ninja_api
from otodoke.api.services import create_token
from otodoke.api.tests.conftest import ApiClient, error_of
from otodoke.campaigns.tests.conftest import Line, make_contacts
from otodoke.contacts.tagging import add_tags
from otodoke.richmenus.images import generate
from otodoke.richmenus.tests.helpers import HALVES, linked_menu
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(workspace: Workspace) -> ApiClient:
    token = create_token(workspace, name="pos", scopes=("read", "write", "send"))
    return ApiClient(token.plaintext)


def _image(width: int = 2500, height: int = 843) -> str:
    return base64.b64encode(generate(width, height, ["A", "B"])).decode()


def test_a_menu_and_a_rule_through_the_api_link_the_segment_on_line(
    workspace: Workspace, line: Line, vip: Segment, client: ApiClient
) -> None:
    people = make_contacts(workspace, line, 3)
    add_tags(workspace, [people[0].pk], ["VIP"])
    made = client.post(
        "/api/v1/richmenus",
        {
            "name": "VIP",
            "chat_bar_text": "VIPメニュー",
            "width": 2500,
            "height": 843,
            "image_base64": _image(),
            "alias": "vip",
            "areas": HALVES,
        },
    )
    assert made.status_code == 201, made.content
    menu_id = made.json()["id"]
    published = client.post(f"/api/v1/richmenus/{menu_id}/publish", {})
    assert published.status_code == 200, published.content
    line_id = published.json()["line_rich_menu_id"]
    assert line_id and line_id.startswith("richmenu-")

    rule = client.post(
        "/api/v1/richmenus/rules",
        {"name": "VIP", "segment_id": vip.pk, "menu_id": menu_id, "priority": 1},
    )
    assert rule.status_code == 201, rule.content
    synced = client.post("/api/v1/richmenus/sync", {}).json()
    assert (synced["linked"], synced["calls"]) == (1, 1)
    assert linked_menu(line, people[0].line_user_id) == line_id
    assert linked_menu(line, people[1].line_user_id) is None
    assert client.post("/api/v1/richmenus/sync", {}).json()["calls"] == 0

    seen = client.get(f"/api/v1/richmenus/contacts/{people[0].pk}").json()
    assert (seen["menu_id"], seen["rule_id"], seen["in_sync"]) == (
        menu_id,
        rule.json()["id"],
        True,
    )


def test_line_image_rules_are_a_422_naming_the_field(
    workspace: Workspace, client: ApiClient
) -> None:
    wrong = client.post(
        "/api/v1/richmenus",
        {
            "name": "x",
            "chat_bar_text": "x",
            "width": 2500,
            "height": 1686,
            "image_base64": _image(),
        },
    )
    assert wrong.status_code == 422
    error = error_of(wrong)
    assert error["details"][0]["path"] == "image_base64"
    assert "2500×843" in error["message"] and "2500×1686" in error["message"]

    outside = client.post(
        "/api/v1/richmenus",
        {
            "name": "x",
            "chat_bar_text": "x",
            "width": 2500,
            "height": 843,
            "areas": [{"x": 2000, "y": 0, "width": 600, "height": 100, "type": "postback"}],
        },
    )
    assert outside.status_code == 422
    paths = {d["path"] for d in error_of(outside)["details"]}
    assert paths == {"areas[0].bounds", "areas[0].value"}
    assert not client.get("/api/v1/richmenus").json()  # nothing half-made


def test_the_openapi_schema_lists_the_rich_menu_endpoints() -> None:
    paths = ninja_api.get_openapi_schema(path_prefix="/api/v1/")["paths"]
    for path in (
        "/api/v1/richmenus",
        "/api/v1/richmenus/rules",
        "/api/v1/richmenus/sync",
        "/api/v1/richmenus/{menu_id}/publish",
        "/api/v1/richmenus/contacts/{contact_id}",
    ):
        assert path in paths, sorted(paths)


def cli(*args: str) -> Any:
    out = io.StringIO()
    call_command("richmenu", *args, "--workspace", "salon", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_cli_creates_publishes_and_makes_the_default(
    workspace: Workspace, line: Line, tmp_path: Any
) -> None:
    image = tmp_path / "menu.png"
    image.write_bytes(generate(1200, 405, ["A", "B", "C"]))
    areas = tmp_path / "areas.json"
    areas.write_text(
        json.dumps(
            [{"x": 0, "y": 0, "width": 400, "height": 405, "type": "message", "value": "予約"}]
        )
    )
    made = cli(
        "create",
        "--name",
        "いつもの",
        "--chat-bar-text",
        "メニュー",
        "--size",
        "1200x405",
        "--image",
        str(image),
        "--areas",
        str(areas),
    )
    assert made["width"] == 1200 and len(made["areas"]) == 1
    assert cli("publish", str(made["id"]))["line_rich_menu_id"]
    assert cli("default", str(made["id"]))["is_default"] is True
    assert [m["id"] for m in cli("list")] == [made["id"]]

    with pytest.raises(CommandError):
        call_command(
            "richmenu",
            "create",
            "--workspace",
            "salon",
            "--name",
            "bad",
            "--chat-bar-text",
            "x",
            "--size",
            "2500x843",
            "--image",
            str(image),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
