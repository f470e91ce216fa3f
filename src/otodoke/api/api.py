"""The REST API: one NinjaAPI with a router per domain, mounted at /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI

from otodoke.api import errors
from otodoke.api.auth import TokenAuth
from otodoke.api.parsing import StrictJsonParser
from otodoke.api.routers import (
    audiences,
    autoreplies,
    campaigns,
    contacts,
    conversations,
    events,
    imports,
    me,
    richmenus,
    scenarios,
    segments,
    tags,
)

DESCRIPTION = """
Otodoke's REST API for shops, POS systems and sites.

**Authentication.** Every call needs `Authorization: Bearer otd_…`, an API token of one
workspace (create one with `otodoke api-token create`). A token acts for its workspace only.

**Scopes** map to the same permissions as staff roles in the UI:

| scope | permission | allows |
|---|---|---|
| `read` | view | reading contacts, tags, events, segments, audiences, campaigns, imports |
| `write` | edit | contacts, events, tags, segments, audiences, draft campaigns, CSV imports |
| `send` | send | test sends, sending, scheduling and cancelling campaigns; chat replies |
| `pii` | view personal data | LINE user IDs, phone numbers, e-mail addresses (see below) |
| `export` | export | audience files for LINE's upload screens (LINE user IDs, e-mails, phones) |

Auto-reply rules are read with `read` and changed with `write`.
Scopes are independent: give each integration only what it needs (a POS: `write`).

Without `pii`, the fields `line_user_id`, `phone` and `email` are `null` in contact and
recipient responses (`has_line` still says whether a LINE identity exists), segment previews
show them masked (`U12…ab`, `y***@example.jp`, `*******5678`), and filtering contacts by them
answers 403. An export is a file of identifiers: it needs `export` (the same right as staff
exporting in the UI), and every export is written to the workspace's audit log under the
token's name (`api:<token name> (<key id>)`), as are sends and cancellations.

**What tokens cannot do.** Approving a campaign and confirming a send over the month's
quota are human acts: only a staff member with the approve permission can do them, in
Otodoke. Sending a campaign that still needs approval answers `409 approval_required`; a
send paused for quota shows `status: paused` and its reason until someone confirms it.

**Rate limits.** Each token has its own budget (default 600 requests/minute, bursts of 60).
Over budget, the API answers `429` with `{"error": {"code": "rate_limited"}}` and a
`Retry-After` header in seconds. The budget is kept in the database, so it holds across all
web processes and machines.

**Errors** are always JSON: `{"error": {"code", "message", "details": [{"path", "message"}]}}`.
A malformed request (wrong types, missing fields, too many items) is rejected as a whole with
`422 validation_error` and changes nothing. In bulk requests, items that are well-formed but
cannot be stored (an unknown customer number, an invalid phone number) are reported per item in
`results[]` with a path such as `contacts[3].phone`, and the other items are stored.

**Pagination.** Lists return `next_cursor`; pass it back as `?cursor=` until it is `null`.

**Segments** are validated against the segment schema (docs/segments.md); a problem is
reported with its path into the request, e.g. `definition.where.conditions[1].max`.
**Campaign messages** are checked against LINE's limits, with paths such as
`messages[0].text`. A state that does not allow an action (sending a campaign twice,
cancelling a sent one) answers `409` with code `invalid_state`.

**Sizes.** Up to 1,000 items per bulk request (and per `contacts` target part); up to 20
recipients per test send; user-ID files up to 64 MB; segment previews up to 100 rows per page.
"""

api = NinjaAPI(
    title="Otodoke API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=TokenAuth(),
    parser=StrictJsonParser(),
)
errors.install(api)

api.add_router("/", me.router, tags=["Token"])
api.add_router("/contacts", contacts.router, tags=["Contacts"])
api.add_router("/events", events.router, tags=["Events"])
api.add_router("/tags", tags.router, tags=["Tags"])
api.add_router("/segments", segments.router, tags=["Segments"])
api.add_router("/audiences", audiences.router, tags=["Audiences"])
api.add_router("/imports", imports.router, tags=["Imports"])
api.add_router("/campaigns", campaigns.router, tags=["Campaigns"])
api.add_router("/scenarios", scenarios.router, tags=["Scenarios"])
api.add_router("/conversations", conversations.router, tags=["Conversations"])
api.add_router("/autoreplies", autoreplies.router, tags=["Auto-replies"])
api.add_router("/richmenus", richmenus.router, tags=["Rich menus"])

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", api.urls),
    # Anything else under /api/v1/ answers a JSON 404 instead of the HTML error page.
    re_path(r"^api/v1/", errors.not_found_view),
]
