"""Tags: list, and add or remove tags on many contacts at once."""

from __future__ import annotations

from typing import Annotated

from django.db.models import Count
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field, StringConstraints, model_validator

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ErrorDetail
from otodoke.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, page
from otodoke.api.routers.contact_schemas import ExternalId, TagName
from otodoke.api.schemas import MAX_BULK_ITEMS
from otodoke.contacts.models import Contact, Tag, TagSource
from otodoke.contacts.tagging import add_tags, remove_tags
from otodoke.workspaces.roles import Permission

router = Router()

DB_ID = Annotated[int, Field(ge=1, le=2**63 - 1)]


class TagOut(Schema):
    id: int
    name: str
    contacts: int


class TagPage(Schema):
    items: list[TagOut]
    next_cursor: str | None


class TagFilters(Schema):
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class TaggingIn(Schema):
    tags: list[TagName] = Field(min_length=1, max_length=20)
    contact_ids: list[DB_ID] = Field(default=[], max_length=MAX_BULK_ITEMS)
    external_ids: list[ExternalId] = Field(default=[], max_length=MAX_BULK_ITEMS)

    @model_validator(mode="after")
    def _some_contacts(self) -> TaggingIn:
        if not self.contact_ids and not self.external_ids:
            raise ValueError(_("Give contact_ids or external_ids"))
        if len(self.contact_ids) + len(self.external_ids) > MAX_BULK_ITEMS:
            raise ValueError(_("At most 1,000 contacts per request"))
        return self


class TaggingOut(Schema):
    # add: contact–tag pairs the contacts now have (already-tagged pairs included);
    # remove: contact–tag pairs removed.
    pairs: int
    contacts: int
    errors: list[ErrorDetail]


@router.get("", response={200: TagPage, **COMMON_ERRORS}, summary="List tags")
def list_tags(request: HttpRequest, filters: Query[TagFilters]) -> TagPage:
    return tag_page(principal(request), filters)


def tag_page(caller: Caller, filters: TagFilters) -> TagPage:
    caller.require(Permission.VIEW)
    qs = Tag.objects.filter(workspace=caller.workspace).annotate(n=Count("contact_tags"))
    rows, next_cursor = page(qs, cursor=filters.cursor, limit=filters.limit)
    return TagPage(
        items=[TagOut(id=t.pk, name=t.name, contacts=t.n) for t in rows],  # type: ignore[attr-defined]
        next_cursor=next_cursor,
    )


def _resolve(caller: Caller, payload: TaggingIn) -> tuple[list[int], list[ErrorDetail]]:
    """This workspace's contact ids for the payload, and a path for each one not found."""
    caller.require(Permission.EDIT)
    contacts = Contact.objects.in_workspace(caller.workspace)
    by_id = set(contacts.filter(pk__in=payload.contact_ids).values_list("pk", flat=True))
    by_ext = dict(
        contacts.filter(external_id__in=payload.external_ids).values_list("external_id", "pk")
    )
    errors = [
        ErrorDetail(path=f"contact_ids[{i}]", message=_("No such contact"))
        for i, cid in enumerate(payload.contact_ids)
        if cid not in by_id
    ] + [
        ErrorDetail(path=f"external_ids[{i}]", message=_("No customer with this customer number"))
        for i, ext in enumerate(payload.external_ids)
        if ext not in by_ext
    ]
    return sorted(by_id | set(by_ext.values())), errors


@router.post(
    "/add",
    response={200: TaggingOut, **COMMON_ERRORS},
    summary="Add tags to up to 1,000 contacts",
)
def add_contact_tags(request: HttpRequest, payload: TaggingIn) -> TaggingOut:
    return tag(principal(request), payload)


def tag(caller: Caller, payload: TaggingIn) -> TaggingOut:
    ids, errors = _resolve(caller, payload)
    changed = add_tags(caller.workspace, ids, payload.tags, source=TagSource.API) if ids else 0
    return TaggingOut(pairs=changed, contacts=len(ids), errors=errors)


@router.post(
    "/remove",
    response={200: TaggingOut, **COMMON_ERRORS},
    summary="Remove tags from up to 1,000 contacts",
)
def remove_contact_tags(request: HttpRequest, payload: TaggingIn) -> TaggingOut:
    return untag(principal(request), payload)


def untag(caller: Caller, payload: TaggingIn) -> TaggingOut:
    ids, errors = _resolve(caller, payload)
    changed = remove_tags(caller.workspace, ids, payload.tags) if ids else 0
    return TaggingOut(pairs=changed, contacts=len(ids), errors=errors)
