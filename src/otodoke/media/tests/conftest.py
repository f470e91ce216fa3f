"""Fixtures of the image-hosting tests: a workspace, images made with Pillow, a storage folder
per test."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from PIL import Image

from otodoke.workspaces.models import Workspace
from otodoke.workspaces.services import create_workspace


@pytest.fixture(autouse=True)
def image_folder(settings: Any, tmp_path: Path) -> Path:
    """Each test stores its images in its own folder, served under a fixed https URL."""
    folder = tmp_path / "images"
    settings.STORAGES = {
        **settings.STORAGES,
        "otodoke_images": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    settings.MEDIA_PUBLIC_URL = ""
    settings.PUBLIC_BASE_URL = "https://otodoke.example.jp"
    return folder


@pytest.fixture
def workspace(db: None) -> Workspace:
    owner = User.objects.create_user("owner", "owner@example.jp", "pw-123456789")
    return create_workspace(
        name="サロン花と緑",
        slug="salon",
        channel_id="2000000001",
        channel_secret="s" * 32,
        channel_access_token="t" * 40,
        api_base_url="http://127.0.0.1:9",
        owner=owner,
    )


def picture(
    width: int, height: int, fmt: str = "JPEG", mode: str = "RGB", noise: bool = False
) -> bytes:
    """A test image; `noise` makes it incompressible (for size limits)."""
    if noise:
        import os

        image = Image.frombytes(mode, (width, height), os.urandom(width * height * len(mode)))
    else:
        colour: Any = (200, 80, 120, 128) if mode == "RGBA" else (200, 80, 120)
        image = Image.new(mode, (width, height), colour)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()
