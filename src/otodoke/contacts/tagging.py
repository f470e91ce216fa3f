"""Tags on contacts, set-based."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from otodoke.contacts.models import ContactTag, Tag, TagSource
from otodoke.contacts.signals import tags_added
from otodoke.workspaces.models import Workspace

LINE_TAG = "line"
BATCH = 5000
# Click tracking tags a contact `clicked:<link token>`; they are kept out of tag lists.
CLICK_TAG_PREFIX = "clicked:"
IN_CHUNK = 900  # under SQLite's default limit of bound parameters


def ensure_tags(workspace: Workspace, names: Iterable[str]) -> dict[str, int]:
    """Tag IDs by name, creating the missing tags."""
    wanted = {n.strip() for n in names if n and n.strip()}
    if not wanted:
        return {}
    Tag.objects.bulk_create(
        [Tag(workspace=workspace, name=n) for n in sorted(wanted)], ignore_conflicts=True
    )
    return dict(Tag.objects.filter(workspace=workspace, name__in=wanted).values_list("name", "pk"))


@transaction.atomic
def add_tag_pairs(
    workspace: Workspace,
    pairs: Iterable[tuple[int, str]],
    *,
    source: TagSource | str,
    at: datetime | None = None,
) -> int:
    """Tag each (contact ID, tag name). A tag a contact already has keeps its first added_at."""
    pairs = list(pairs)
    tag_ids = ensure_tags(workspace, (name for _, name in pairs))
    when = at or timezone.now()
    rows = {(cid, tag_ids[name.strip()]) for cid, name in pairs if name and name.strip() in tag_ids}
    objs = [
        ContactTag(contact_id=cid, tag_id=tid, added_at=when, source=source)
        for cid, tid in sorted(rows)
    ]
    new = _not_yet_tagged(rows) if tags_added.has_listeners() else set()
    # ignore_conflicts: an existing (contact, tag) row is kept as it is, so re-tagging is a no-op.
    ContactTag.objects.bulk_create(objs, ignore_conflicts=True, batch_size=BATCH)
    if new:
        names = {tid: name for name, tid in tag_ids.items()}
        tags_added.send(
            sender=ContactTag,
            workspace=workspace,
            pairs=sorted((cid, names[tid]) for cid, tid in new),
            source=str(source),
            at=when,
        )
    return len(objs)


def _not_yet_tagged(rows: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (contact, tag) pairs of `rows` that are not stored yet."""
    new = set(rows)
    ordered = sorted(rows)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start : start + 900]
        existing = ContactTag.objects.filter(
            contact_id__in={c for c, _ in chunk}, tag_id__in={t for _, t in chunk}
        ).values_list("contact_id", "tag_id")
        new.difference_update(existing)
    return new


def add_tags(
    workspace: Workspace,
    contact_ids: Iterable[int],
    names: Iterable[str],
    *,
    source: TagSource | str = TagSource.MANUAL,
    at: datetime | None = None,
) -> int:
    names = list(names)
    return add_tag_pairs(
        workspace, ((cid, n) for cid in contact_ids for n in names), source=source, at=at
    )


@transaction.atomic
def remove_tags(workspace: Workspace, contact_ids: Iterable[int], names: Iterable[str]) -> int:
    ids = list(contact_ids)
    deleted = 0
    for start in range(0, len(ids), BATCH):
        deleted += ContactTag.objects.filter(
            contact_id__in=ids[start : start + BATCH],
            tag__workspace=workspace,
            tag__name__in=list(names),
        ).delete()[0]
    return deleted


def tag_names_by_contact(contact_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each contact's tag names (click tags left out), by name; one query per 900 contacts."""
    ids = list(contact_ids)
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), IN_CHUNK):
        rows = (
            ContactTag.objects.filter(contact_id__in=ids[start : start + IN_CHUNK])
            .exclude(tag__name__startswith=CLICK_TAG_PREFIX)
            .order_by("contact_id", "tag__name")
            .values_list("contact_id", "tag__name")
        )
        for contact_id, name in rows:
            found.setdefault(contact_id, []).append(name)
    return found
