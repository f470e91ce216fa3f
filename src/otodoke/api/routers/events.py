"""Events: bulk ingest, idempotent by the event's external ID."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field, StringConstraints, model_validator

from otodoke.api.auth import Caller, principal
from otodoke.api.errors import COMMON_ERRORS, ErrorDetail
from otodoke.api.routers.contact_schemas import ExternalId
from otodoke.api.schemas import MAX_BULK_ITEMS, BulkCounts, ItemResult, UtcDateTime, item_results
from otodoke.contacts.inputs import EventInput
from otodoke.contacts.models import Contact, Event
from otodoke.contacts.services import ingest_events
from otodoke.core.statistics import refresh_stale_statistics
from otodoke.workspaces.roles import Permission

router = Router()

DB_ID = Annotated[int, Field(ge=1, le=2**63 - 1)]
# Money fits a signed 64-bit column; anything beyond is a client bug, not a purchase.
Yen = Annotated[int, Field(ge=-(10**15), le=10**15)]
# Kinds: visit, purchase, cart, signup or custom:<name> (checked by the contacts service, so the
# rule lives in one place; a bad kind is a per-item error).
Kind = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class EventIn(Schema):
    external_id: ExternalId | None = Field(
        default=None,
        description="your ID of the event; sending it again never counts the event twice",
    )
    contact_external_id: ExternalId | None = Field(default=None, description="customer number")
    contact_id: DB_ID | None = Field(default=None, description="Otodoke contact id")
    kind: Kind = Field(description="visit, purchase, cart, signup or custom:<name>")
    occurred_at: UtcDateTime = Field(description="with a time zone offset")
    amount: Yen | None = Field(default=None, description="yen (visit and purchase)")
    properties: dict[str, Any] = {}

    @model_validator(mode="after")
    def _needs_a_contact(self) -> EventIn:
        if self.contact_external_id is None and self.contact_id is None:
            raise ValueError(_("Give contact_external_id or contact_id"))
        return self


class EventBulkIn(Schema):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BULK_ITEMS)


class EventBulkOut(BulkCounts):
    results: list[ItemResult]


# The contacts service names columns after the CSV import; the API names them after its fields.
_COLUMN_PATHS = {"customer_id": "contact_external_id"}


@router.post(
    "/bulk",
    response={200: EventBulkOut, **COMMON_ERRORS},
    summary="Ingest up to 1,000 events",
    description=(
        "Idempotent by external_id: the same event again is `unchanged`, or corrected in "
        "place when its data differ. Contacts' rollups (visits, total spent…) are updated. "
        "Items that cannot be stored are reported in results[]; the rest are stored."
    ),
)
def bulk_ingest_events(request: HttpRequest, payload: EventBulkIn) -> EventBulkOut:
    return bulk_ingest(principal(request), payload)


def bulk_ingest(caller: Caller, payload: EventBulkIn) -> EventBulkOut:
    """The endpoint's work, also run by `otodoke event bulk`."""
    caller.require(Permission.EDIT)
    workspace = caller.workspace
    errors: dict[int, list[ErrorDetail]] = defaultdict(list)
    # A contact id must belong to this workspace: the service trusts the ids it is given.
    given_ids = {e.contact_id for e in payload.events if e.contact_id is not None}
    known_ids = set(
        Contact.objects.in_workspace(workspace)
        .filter(pk__in=given_ids)
        .values_list("pk", flat=True)
    )
    inputs: list[EventInput] = []
    for i, event in enumerate(payload.events):
        if event.contact_id is not None and event.contact_id not in known_ids:
            errors[i].append(
                ErrorDetail(path=f"events[{i}].contact_id", message=_("No such contact"))
            )
            continue
        inputs.append(
            EventInput(
                row=i,
                external_id=event.external_id,
                contact_id=event.contact_id,
                contact_external_id=event.contact_external_id,
                kind=event.kind,
                occurred_at=event.occurred_at,
                amount=event.amount,
                properties=event.properties,
                source="api",
            )
        )
    result = ingest_events(workspace, inputs)
    # Event segments need statistics as soon as events arrive in bulk (issue 12.4).
    refresh_stale_statistics(Event, Contact)
    for error in result.errors:
        column = _COLUMN_PATHS.get(error.column, error.column)
        errors[error.row].append(
            ErrorDetail(path=f"events[{error.row}].{column}", message=error.message)
        )
    return EventBulkOut(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=sum(1 for e in errors.values() if e),
        results=item_results(len(payload.events), errors),
    )
