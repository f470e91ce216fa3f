"""Where hosted images are kept: Django's storages API under the alias `otodoke_images`.

By default a folder in the data directory (DATA_DIR/images), apart from MEDIA_ROOT, whose
imports and exports are private. `OTODOKE_MEDIA_STORAGE=s3` keeps them in an S3-compatible
bucket through django-storages instead. Either way Otodoke serves them itself, at
OTODOKE_PUBLIC_URL/media/i/…, so the URLs in sent messages never depend on the backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import Storage

ALIAS = "otodoke_images"


def storage_setting(environ: Mapping[str, str], data_dir: Path) -> dict[str, Any]:
    """The STORAGES entry for hosted images, from the environment (read once by settings)."""
    kind = environ.get("OTODOKE_MEDIA_STORAGE", "local").strip().lower() or "local"
    if kind == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(data_dir / "images")},
        }
    if kind != "s3":
        raise ImproperlyConfigured("OTODOKE_MEDIA_STORAGE must be 'local' or 's3'")
    bucket = environ.get("OTODOKE_S3_BUCKET", "").strip()
    if not bucket:
        raise ImproperlyConfigured("OTODOKE_MEDIA_STORAGE=s3 needs OTODOKE_S3_BUCKET")
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "location": environ.get("OTODOKE_S3_PREFIX", "otodoke-images").strip("/"),
        # Served through Otodoke, never by a bucket URL: objects stay private.
        "default_acl": None,
        "querystring_auth": True,
        "file_overwrite": True,  # content-addressed: the same name is the same bytes
    }
    optional = {
        "endpoint_url": "OTODOKE_S3_ENDPOINT_URL",
        "region_name": "OTODOKE_S3_REGION",
        "access_key": "OTODOKE_S3_ACCESS_KEY_ID",
        "secret_key": "OTODOKE_S3_SECRET_ACCESS_KEY",
    }
    for option, name in optional.items():
        if value := environ.get(name, "").strip():
            options[option] = value
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


def image_storage() -> Storage:
    from django.core.files.storage import storages

    return storages[ALIAS]
