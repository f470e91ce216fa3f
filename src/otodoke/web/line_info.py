"""The few LINE calls the UI makes itself (webhook test, the month's quota), through the
`otodoke.line` client. Both degrade to a clear message (or None) when LINE fails,
because a settings page or dashboard must still open when LINE is unreachable."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from django.utils.translation import gettext as _

from otodoke.campaigns.quota import QuotaState, fetch_quota
from otodoke.line.client import LineApiError, LineClient
from otodoke.workspaces.models import Workspace

log = logging.getLogger(__name__)

# The UI waits for LINE at most this long; the page must stay responsive.
UI_TIMEOUT = httpx.Timeout(5.0)


@dataclass(frozen=True)
class WebhookCheck:
    ok: bool
    message: str


def verify_webhook(workspace: Workspace) -> WebhookCheck:
    """Ask LINE to post a test event to our webhook URL (POST /v2/bot/channel/webhook/test)."""
    try:
        with LineClient.for_workspace(workspace, timeout=UI_TIMEOUT) as client:
            body = client.call(
                "POST",
                "/v2/bot/channel/webhook/test",
                json_body={"endpoint": workspace.webhook_url()},
            ).body
    except LineApiError as exc:
        log.info("webhook test failed for %s: %s", workspace.slug, exc.describe())
        return WebhookCheck(False, _("LINE answered: %(error)s") % {"error": exc.describe()})
    if isinstance(body, dict) and body.get("success"):
        return WebhookCheck(True, _("LINE reached the webhook URL and got an answer."))
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    status = body.get("statusCode", "") if isinstance(body, dict) else ""
    return WebhookCheck(
        False,
        _("LINE could not reach the webhook URL (%(status)s %(reason)s).")
        % {"status": status, "reason": reason},
    )


def month_quota(workspace: Workspace) -> QuotaState | None:
    """This month's message quota and consumption as LINE counts them; None when unknown."""
    try:
        with LineClient.for_workspace(workspace, timeout=UI_TIMEOUT) as client:
            return fetch_quota(client)
    except LineApiError as exc:
        log.info("quota lookup failed for %s: %s", workspace.slug, exc.describe())
        return None
