"""Hosted images: stored once per content, served publicly with long cache headers, never
deleted while a campaign or scenario uses them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from otodoke.campaigns import services as campaigns
from otodoke.campaigns.models import Campaign, CampaignStatus
from otodoke.media import services
from otodoke.media.models import HostedImage
from otodoke.media.tests.conftest import picture
from otodoke.scenarios.models import Scenario, ScenarioVersion
from otodoke.workspaces.models import Workspace


def image_message(image: HostedImage) -> dict[str, str]:
    urls = services.urls(image)
    return {"type": "image", "originalContentUrl": urls.original, "previewImageUrl": urls.preview}


def old(image: HostedImage) -> HostedImage:
    HostedImage.objects.filter(pk=image.pk).update(created_at=timezone.now() - timedelta(days=3))
    image.refresh_from_db()
    return image


def test_urls_are_https_under_the_public_url_and_named_by_content(workspace: Workspace) -> None:
    image = services.upload_image(workspace, picture(800, 600), name="menu.jpg")
    urls = services.urls(image)
    base = f"https://otodoke.example.jp/media/i/{image.key}"
    assert urls.original == f"{base}/original.jpg"
    assert urls.preview == f"{base}/preview.jpg"
    assert urls.imagemap_base == f"{base}/map"
    assert (image.width, image.height, image.base_height()) == (800, 600, 780)


def test_the_same_upload_twice_is_one_image(workspace: Workspace) -> None:
    data = picture(500, 500)
    first = services.upload_image(workspace, data)
    assert services.upload_image(workspace, data).pk == first.pk
    assert HostedImage.objects.count() == 1


def test_images_are_public_with_long_cache_headers(workspace: Workspace) -> None:
    image = services.upload_image(workspace, picture(1200, 800))
    client = Client()  # not logged in: LINE's servers fetch these
    response = client.get(f"/media/i/{image.key}/original.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.content[:2] == b"\xff\xd8"
    for width in (240, 300, 460, 700, 1040):
        answer = client.get(f"/media/i/{image.key}/map/{width}")
        assert answer.status_code == 200, width
        assert answer["Content-Type"] == "image/jpeg"
    assert client.get(f"/media/i/{image.key}/map/999").status_code == 404
    assert client.get(f"/media/i/{'0' * 40}/preview.jpg").status_code == 404


def test_a_draft_campaigns_image_is_not_deleted(workspace: Workspace) -> None:
    image = old(services.upload_image(workspace, picture(400, 400)))
    campaigns.create_campaign(
        workspace,
        name="春のセール",
        messages=[image_message(image)],
        target={"all_friends": True},
        actor=None,
    )
    with translation.override("ja"), pytest.raises(services.ImageInUseError) as caught:
        services.delete_image(image)
    assert "配信: 春のセール" in str(caught.value)
    assert services.unused_images() == []
    assert HostedImage.objects.filter(pk=image.pk).exists()


def test_a_sent_campaigns_image_is_kept_too(workspace: Workspace) -> None:
    image = old(services.upload_image(workspace, picture(400, 400)))
    campaign = campaigns.create_campaign(
        workspace,
        name="送信済み",
        messages=[image_message(image)],
        target={"all_friends": True},
        actor=None,
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT)
    assert services.unused_images() == []


def test_a_scenario_versions_image_is_kept(workspace: Workspace) -> None:
    image = old(services.upload_image(workspace, picture(400, 400)))
    scenario = Scenario.objects.create(workspace=workspace, name="誕生日")
    ScenarioVersion.objects.create(
        scenario=scenario,
        number=1,
        trigger={"type": "friend_added"},
        steps=[{"type": "send", "messages": [image_message(image)]}],
    )
    assert services.uses(image) == ["シナリオ: 誕生日"]
    assert services.unused_images() == []


def test_cleanup_deletes_only_old_unreferenced_images_and_their_files(
    workspace: Workspace, image_folder: Path
) -> None:
    kept = old(services.upload_image(workspace, picture(400, 400)))
    fresh = services.upload_image(workspace, picture(410, 400))  # within the grace period
    unused = old(services.upload_image(workspace, picture(420, 400)))
    campaigns.create_campaign(
        workspace,
        name="使用中",
        messages=[image_message(kept)],
        target={"all_friends": True},
        actor=None,
    )
    assert (image_folder / "images" / unused.key / "map" / "1040").exists()

    call_command("images", "cleanup")

    assert set(HostedImage.objects.values_list("pk", flat=True)) == {kept.pk, fresh.pk}
    assert not (image_folder / "images" / unused.key).exists() or not any(
        (image_folder / "images" / unused.key).rglob("*.*")
    )
    assert not (image_folder / "images" / unused.key / "map" / "1040").exists()
    assert (image_folder / "images" / kept.key / "original.jpg").exists()
    assert Client().get(f"/media/i/{unused.key}/original.jpg").status_code == 404
