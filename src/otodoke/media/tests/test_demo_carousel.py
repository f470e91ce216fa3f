"""The demo's carousel draft: hosted pictures made with Pillow, valid for LINE, and editable
in the visual editor."""

from __future__ import annotations

from typing import Any

from otodoke.media.demo import product_carousel
from otodoke.media.models import HostedImage
from otodoke.messaging import rich
from otodoke.messaging.validation import validate_messages
from otodoke.workspaces.models import Workspace


def test_the_demo_carousel_has_three_hosted_pictures_and_reads_back(
    workspace: Workspace,
) -> None:
    message = product_carousel(workspace)
    assert validate_messages([message]) == [message]
    heroes = [b["hero"]["url"] for b in message["contents"]["contents"]]
    assert len(heroes) == 3
    assert all(url.startswith("https://otodoke.example.jp/media/i/") for url in heroes)
    assert HostedImage.objects.filter(workspace=workspace).count() == 3
    parsed = rich.parse_cards(message)
    assert parsed is not None and [c.image for c in parsed[1]] == heroes


def test_on_plain_http_the_demo_cards_go_without_pictures(
    workspace: Workspace, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    message = product_carousel(workspace)
    assert validate_messages([message]) == [message]
    assert all("hero" not in b for b in message["contents"]["contents"])
    assert not HostedImage.objects.exists()


def test_the_demo_examples_include_the_carousel_draft(workspace: Workspace) -> None:
    from otodoke.campaigns.models import Campaign, CampaignStatus
    from otodoke.core.demo import create_examples

    create_examples(workspace)
    draft = Campaign.objects.get(workspace=workspace, name="おすすめヘアケア商品のご紹介")
    assert draft.status == CampaignStatus.DRAFT
    assert draft.messages[0]["contents"]["type"] == "carousel"
    assert HostedImage.objects.filter(workspace=workspace).count() == 3
