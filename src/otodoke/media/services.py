"""Hosting images for LINE messages: upload, URLs, who uses an image, cleanup.

An image is "in use" while any campaign (draft or sent), any version of any scenario or any
staff reply in the chat inbox has one of its URLs in its messages. Uses are found from the
messages themselves at the moment they matter (deleting, cleaning up), so no separate
bookkeeping can drift from what is sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.media.images import IMAGEMAP_WIDTHS, process
from otodoke.media.models import HostedImage
from otodoke.media.storage import image_storage
from otodoke.workspaces.models import Workspace

AnyUser = AbstractBaseUser | AnonymousUser
KEY_PATTERN = re.compile(r"/media/i/([0-9a-f]{40})/")


class ImageInUseError(RuntimeError):
    """Deleting an image a campaign or scenario still uses."""


def public_base() -> str:
    """Where hosted images are served: OTODOKE_MEDIA_URL, else OTODOKE_PUBLIC_URL/media/i."""
    return settings.MEDIA_PUBLIC_URL or f"{settings.PUBLIC_BASE_URL}/media/i"


def file_name(key: str, name: str) -> str:
    return f"images/{key}/{name}"


@dataclass(frozen=True)
class ImageUrls:
    original: str
    preview: str
    imagemap_base: str  # LINE requests {imagemap_base}/{width}

    def as_dict(self) -> dict[str, str]:
        return {
            "original": self.original,
            "preview": self.preview,
            "imagemap_base": self.imagemap_base,
        }


def urls(image: HostedImage) -> ImageUrls:
    base = f"{public_base()}/{image.key}"
    return ImageUrls(
        original=f"{base}/original.{image.extension}",
        preview=f"{base}/preview.jpg",
        imagemap_base=f"{base}/map",
    )


def upload_image(
    workspace: Workspace, data: bytes, *, name: str = "", actor: AnyUser | None = None
) -> HostedImage:
    """Check, convert and store one uploaded file; the same file again is the same image.
    Raises ImageRejectedError (with the reason) for a file LINE could not show."""
    processed = process(data)
    existing = HostedImage.objects.filter(workspace=workspace, key=processed.key).first()
    if existing is not None:
        return existing
    storage = image_storage()
    files = {f"original.{'png' if processed.format == 'png' else 'jpg'}": processed.original}
    files["preview.jpg"] = processed.preview
    files.update({f"map/{width}": body for width, body in processed.imagemap.items()})
    # Files first, then the row: a row never points at missing files. Names are the content
    # hash, so a second upload racing this one writes the same bytes.
    for name_, body in files.items():
        path = file_name(processed.key, name_)
        if storage.exists(path):
            storage.delete(path)
        storage.save(path, ContentFile(body))
    user = actor if isinstance(actor, User) else None
    try:
        with transaction.atomic():
            return HostedImage.objects.create(
                workspace=workspace,
                key=processed.key,
                original_name=name[:255],
                format=processed.format,
                width=processed.width,
                height=processed.height,
                original_bytes=len(processed.original),
                preview_bytes=len(processed.preview),
                uploaded_by=user,
            )
    except IntegrityError:
        return HostedImage.objects.get(workspace=workspace, key=processed.key)


def served_file(key: str, name: str) -> tuple[bytes, str] | None:
    """The bytes and content type of one hosted file, or None (unknown image or name)."""
    image = HostedImage.objects.filter(key=key).first()
    if image is None:
        return None
    allowed = {f"original.{image.extension}": image.content_type, "preview.jpg": "image/jpeg"}
    allowed.update({f"map/{width}": image.content_type for width in IMAGEMAP_WIDTHS})
    if name not in allowed:
        return None
    storage = image_storage()
    path = file_name(key, name)
    if not storage.exists(path):
        return None
    with storage.open(path, "rb") as handle:
        return handle.read(), allowed[name]


def keys_in(messages: Any) -> set[str]:
    """The hosted-image keys a JSON value (messages, steps) mentions."""
    return set(KEY_PATTERN.findall(json.dumps(messages, ensure_ascii=False)))


def _message_sources(workspace: Workspace | None) -> Iterator[Any]:
    from otodoke.campaigns.models import Campaign
    from otodoke.chat.models import ChatMessage, Direction
    from otodoke.scenarios.models import ScenarioVersion

    campaigns = Campaign.objects.all()
    versions = ScenarioVersion.objects.all()
    replies = ChatMessage.objects.filter(direction=Direction.OUT)
    if workspace is not None:
        campaigns = campaigns.filter(workspace=workspace)
        versions = versions.filter(scenario__workspace=workspace)
        replies = replies.filter(workspace=workspace)
    yield from campaigns.values_list("messages", flat=True).iterator()
    yield from versions.values_list("steps", flat=True).iterator()
    yield from replies.values_list("body", flat=True).iterator()


def keys_in_use(workspace: Workspace | None = None) -> set[str]:
    """Every key a campaign (any status), a scenario version or a chat reply of `workspace`
    (or of all workspaces) uses."""
    used: set[str] = set()
    for value in _message_sources(workspace):
        used |= keys_in(value)
    return used


def uses(image: HostedImage) -> list[str]:
    """Readable names of what uses the image: 「配信: 春のセール」, 「シナリオ: 誕生日」."""
    from otodoke.campaigns.models import Campaign
    from otodoke.chat.models import ChatMessage, Direction
    from otodoke.scenarios.models import ScenarioVersion

    found = []
    for campaign in Campaign.objects.filter(workspace=image.workspace_id).only("name", "messages"):
        if image.key in keys_in(campaign.messages):
            found.append(_("Campaign: %(name)s") % {"name": campaign.name})
    versions = ScenarioVersion.objects.filter(scenario__workspace=image.workspace_id)
    for version in versions.select_related("scenario"):
        if image.key in keys_in(version.steps):
            label = _("Scenario: %(name)s") % {"name": version.scenario.name}
            if label not in found:
                found.append(label)
    replies = ChatMessage.objects.filter(
        workspace=image.workspace_id, direction=Direction.OUT
    ).only("body")
    if any(image.key in keys_in(reply.body) for reply in replies.iterator()):
        found.append(_("Chat replies"))
    return found


def _delete_files(key: str) -> None:
    if HostedImage.objects.filter(key=key).exists():
        return  # another workspace uploaded the same file and still has it
    storage = image_storage()
    names = [f"original.{ext}" for ext in ("jpg", "png")] + ["preview.jpg"]
    names += [f"map/{width}" for width in IMAGEMAP_WIDTHS]
    for name in names:
        path = file_name(key, name)
        if storage.exists(path):
            storage.delete(path)


def delete_image(image: HostedImage) -> None:
    """Delete an image nobody uses; one a campaign, scenario or chat reply uses is refused."""
    in_use = uses(image)
    if in_use:
        raise ImageInUseError(
            _("This image is still used by %(uses)s and cannot be deleted.")
            % {"uses": "、".join(in_use)}
        )
    key = image.key
    image.delete()
    _delete_files(key)


def unused_images(*, now: Any = None) -> list[HostedImage]:
    """Images no campaign, scenario or chat reply of their workspace uses, uploaded longer
    ago than the grace period (a composer may hold a new upload that is not saved yet)."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.MEDIA_CLEANUP_GRACE_HOURS)
    candidates = list(HostedImage.objects.filter(created_at__lt=cutoff).order_by("id"))
    used_by_workspace: dict[int, set[str]] = {}
    unused = []
    for image in candidates:
        if image.workspace_id not in used_by_workspace:
            used_by_workspace[image.workspace_id] = keys_in_use(image.workspace)
        if image.key not in used_by_workspace[image.workspace_id]:
            unused.append(image)
    return unused


def cleanup(images: Iterable[HostedImage]) -> int:
    """Delete the given images (from `unused_images`), each checked again just before."""
    deleted = 0
    for image in images:
        try:
            delete_image(image)
        except ImageInUseError:
            continue  # put into a message since the list was made
        deleted += 1
    return deleted
