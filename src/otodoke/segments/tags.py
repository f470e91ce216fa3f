"""Managing a workspace's tags (タグ): how many contacts each has, rename, merge, delete.

Segments name tags in their definitions, so a rename or a merge rewrites those names in the
same transaction (a segment keeps matching the same people), and a tag a segment names cannot
be deleted. Click-tracking tags (`clicked:<token>`, one per tracked link) are hidden from the
list unless asked for: they are many, and a segment selects clickers with its click condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from otodoke.contacts.models import ContactTag, Tag
from otodoke.contacts.tagging import CLICK_TAG_PREFIX
from otodoke.segments.models import Segment
from otodoke.workspaces.models import Workspace

MAX_TAG_NAME = 100


class TagRefused(Exception):  # noqa: N818 - a domain outcome callers catch
    pass


@dataclass(frozen=True)
class TagRow:
    pk: int
    name: str
    contacts: int
    is_click_tag: bool


def tag_rows(workspace: Workspace, *, include_click_tags: bool = False) -> list[TagRow]:
    """Every tag with its number of contacts, by name; one grouped query."""
    tags = Tag.objects.filter(workspace=workspace)
    if not include_click_tags:
        tags = tags.exclude(name__startswith=CLICK_TAG_PREFIX)
    rows = (
        tags.annotate(contacts=Count("contact_tags"))
        .order_by("name")
        .values_list("pk", "name", "contacts")
    )
    return [TagRow(pk, name, n, name.startswith(CLICK_TAG_PREFIX)) for pk, name, n in rows]


def filter_tag_names(workspace: Workspace, *, include_click_tags: bool = False) -> list[str]:
    """Tag names for the contact list's tag filter and suggestions."""
    tags = Tag.objects.filter(workspace=workspace)
    if not include_click_tags:
        tags = tags.exclude(name__startswith=CLICK_TAG_PREFIX)
    return list(tags.order_by("name").values_list("name", flat=True))


def _rewrite(node: Any, old: str, new: str | None) -> bool:
    """Replace (or with `new` None, only look for) `old` in every tags condition of a
    definition tree; True when it occurs."""
    found = False
    if isinstance(node, dict):
        if node.get("kind") == "tags" and isinstance(node.get("names"), list):
            names = node["names"]
            if old in names:
                found = True
                if new is not None:
                    node["names"] = list(dict.fromkeys(new if n == old else n for n in names))
        for value in node.values():
            found = _rewrite(value, old, new) or found
    elif isinstance(node, list):
        for value in node:
            found = _rewrite(value, old, new) or found
    return found


def segments_naming(workspace: Workspace, name: str) -> list[Segment]:
    return [
        segment
        for segment in Segment.objects.filter(workspace=workspace).order_by("name", "id")
        if _rewrite(segment.definition, name, None)
    ]


def _rename_in_segments(workspace: Workspace, old: str, new: str) -> int:
    segments = segments_naming(workspace, old)
    for segment in segments:
        _rewrite(segment.definition, old, new)
        segment.save(update_fields=["definition", "updated_at"])
    return len(segments)


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise TagRefused(_("Type a tag name."))
    if len(name) > MAX_TAG_NAME:
        raise TagRefused(_("A tag name is at most %(n)d characters.") % {"n": MAX_TAG_NAME})
    return name


@transaction.atomic
def rename_tag(tag: Tag, new_name: str) -> int:
    """Rename; returns how many segments were updated. An existing name is refused (merge)."""
    new_name = _clean_name(new_name)
    if new_name == tag.name:
        return 0
    if Tag.objects.filter(workspace_id=tag.workspace_id, name=new_name).exists():
        raise TagRefused(
            _("A tag “%(name)s” already exists: merge into it instead.") % {"name": new_name}
        )
    old = tag.name
    tag.name = new_name
    tag.save(update_fields=["name"])
    return _rename_in_segments(tag.workspace, old, new_name)


@transaction.atomic
def merge_tag(source: Tag, target: Tag) -> int:
    """Give `target` to every contact with `source`, then delete `source`; set-based. Returns
    how many contacts newly got `target`."""
    if source.workspace_id != target.workspace_id:
        raise ValueError("tags of different workspaces")
    if source.pk == target.pk:
        raise TagRefused(_("Choose another tag to merge into."))
    already = ContactTag.objects.filter(tag=target).values("contact_id")
    moved = ContactTag.objects.filter(tag=source).exclude(contact_id__in=already).update(tag=target)
    _rename_in_segments(source.workspace, source.name, target.name)
    source.delete()  # the remaining rows are contacts that had both
    return moved


@transaction.atomic
def delete_tag(tag: Tag) -> int:
    """Delete the tag from every contact; refused while a segment names it. Returns how many
    contacts had it."""
    users = segments_naming(tag.workspace, tag.name)
    if users:
        raise TagRefused(
            _("Segments use this tag: %(segments)s. Change them first.")
            % {"segments": "、".join(s.name for s in users)}
        )
    count = ContactTag.objects.filter(tag=tag).count()
    tag.delete()
    return count
