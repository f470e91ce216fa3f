"""OTODOKE_MEDIA_STORAGE: a local folder by default, an S3-compatible bucket as a setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, StorageHandler
from storages.backends.s3 import S3Storage  # type: ignore[import-untyped]

from otodoke.media.storage import storage_setting


def build(setting: dict[str, object]) -> object:
    return StorageHandler({"otodoke_images": setting})["otodoke_images"]  # type: ignore[dict-item]


def test_default_is_the_images_folder_of_the_data_dir(tmp_path: Path) -> None:
    storage = build(storage_setting({}, tmp_path))
    assert isinstance(storage, FileSystemStorage)
    assert Path(storage.location) == tmp_path / "images"


def test_s3_setting_builds_an_s3_storage_with_bucket_and_endpoint(tmp_path: Path) -> None:
    environ = {
        "OTODOKE_MEDIA_STORAGE": "s3",
        "OTODOKE_S3_BUCKET": "salon-images",
        "OTODOKE_S3_ENDPOINT_URL": "https://s3.example.jp",
        "OTODOKE_S3_REGION": "ap-northeast-1",
        "OTODOKE_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "OTODOKE_S3_SECRET_ACCESS_KEY": "secret-example",
    }
    storage = build(storage_setting(environ, tmp_path))
    assert isinstance(storage, S3Storage)
    assert storage.bucket_name == "salon-images"
    assert storage.endpoint_url == "https://s3.example.jp"
    assert storage.region_name == "ap-northeast-1"
    assert storage.location == "otodoke-images"
    assert storage.access_key == "AKIAEXAMPLE"


def test_s3_without_a_bucket_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="OTODOKE_S3_BUCKET"):
        storage_setting({"OTODOKE_MEDIA_STORAGE": "s3"}, tmp_path)


def test_an_unknown_storage_kind_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="'local' or 's3'"):
        storage_setting({"OTODOKE_MEDIA_STORAGE": "ftp"}, tmp_path)
