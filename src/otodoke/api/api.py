"""The REST API: one NinjaAPI with a router per domain, mounted at /api/v1/."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path
from ninja import NinjaAPI

from otodoke.api import errors
from otodoke.api.auth import TokenAuth
from otodoke.api.parsing import StrictJsonParser
from otodoke.api.routers import contacts, events, me, tags

DESCRIPTION = """
Otodoke's REST API for shops, POS systems and sites.

**Authentication.** Every call needs `Authorization: Bearer otd_…`, an API token of one
workspace (create one with `otodoke api-token create`). A token acts for its workspace only.

**Scopes** map to the same permissions as staff roles in the UI:

| scope | permission | allows |
|---|---|---|
| `read` | view | reading contacts, tags, events |
| `write` | edit | upserting contacts, ingesting events, tagging |
| `send` | send | sending campaigns (when available) |
| `pii` | view personal data | LINE user IDs, phone numbers, e-mail addresses (see below) |

Without `pii`, the fields `line_user_id`, `phone` and `email` are `null` in every response
(`has_line` still says whether a LINE identity exists), and filtering contacts by them
answers 403.

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

**Bulk sizes.** Up to 1,000 items per bulk request.

**Not yet available:** segments, audiences and campaigns endpoints (their back-ends are still
being built).
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

urlpatterns: list[URLPattern | URLResolver] = [
    path("api/v1/", api.urls),
    # Anything else under /api/v1/ answers a JSON 404 instead of the HTML error page.
    re_path(r"^api/v1/", errors.not_found_view),
]
