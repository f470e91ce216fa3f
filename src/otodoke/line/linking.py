"""Account linking (the Messaging API flow): link token → our verification page → nonce →
LINE's account-link page → `accountLink` webhook → merge the LINE-only contact into the customer.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from otodoke.contacts.cleaning import CleanError, clean_phone
from otodoke.contacts.merging import MergeConflict, merge_contacts
from otodoke.contacts.models import Contact, LineStatus, LinkedVia, TagSource
from otodoke.contacts.tagging import LINE_TAG, add_tags
from otodoke.line import schema
from otodoke.line.client import LineClient
from otodoke.line.client.hosts import hosts_for
from otodoke.line.models import (
    AccountLinkNonce,
    IssuedLinkToken,
    LinkVerificationAttempt,
    WebhookEvent,
    WebhookStatus,
)
from otodoke.line.services import Outcome, locked_line_contact
from otodoke.workspaces.models import Workspace

# LINE's link token is valid for 10 minutes and can be used once; the nonce need not outlive it.
LINK_TOKEN_TTL = timedelta(minutes=10)
NONCE_TTL = timedelta(minutes=10)
# Anti-guessing: failed or pending submissions counted over a sliding window. Per token and
# per friend stop one person guessing; per IP (the client IP, see core.clientip) stops one
# machine with many LINE accounts, and is high enough that customers behind one proxy do not
# lock each other out.
ATTEMPT_WINDOW = timedelta(minutes=10)
MAX_ATTEMPTS_PER_TOKEN = 5
MAX_ATTEMPTS_PER_FRIEND = 10
MAX_ATTEMPTS_PER_IP = 30


@dataclass(frozen=True)
class AccountLinkInvite:
    link_token: str
    # Our verification page carrying the token: send this to the friend (e.g. a URI action).
    url: str


def verification_url(workspace: Workspace, link_token: str) -> str:
    path = reverse("line:link_verify", kwargs={"slug": workspace.slug})
    return f"{settings.PUBLIC_BASE_URL}{path}?{urlencode({'linkToken': link_token})}"


def issue_account_link(
    workspace: Workspace, line_user_id: str, *, client: LineClient | None = None
) -> AccountLinkInvite:
    """Ask LINE for a link token for this friend and build the URL to send them."""
    if client is None:
        with LineClient.for_workspace(workspace) as own:
            token = own.issue_link_token(line_user_id)
    else:
        token = client.issue_link_token(line_user_id)
    now = timezone.now()
    IssuedLinkToken.objects.create(
        workspace=workspace,
        line_user_id=line_user_id,
        token=token,
        issued_at=now,
        expires_at=now + LINK_TOKEN_TTL,
    )
    return AccountLinkInvite(token, verification_url(workspace, token))


class TokenProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


def check_link_token(
    workspace: Workspace, link_token: str
) -> tuple[IssuedLinkToken | None, TokenProblem | None]:
    """The recorded token behind the page's `linkToken`, or why it cannot be used."""
    issued = IssuedLinkToken.objects.filter(workspace=workspace, token=link_token).first()
    if issued is None:
        return None, TokenProblem.UNKNOWN
    if issued.used_at is not None:
        return issued, TokenProblem.USED
    if issued.expires_at <= timezone.now():
        return issued, TokenProblem.EXPIRED
    return issued, None


# --- the verification page -----------------------------------------------------------------


@dataclass(frozen=True)
class VerificationResult:
    locked: bool = False
    redirect_url: str | None = None
    contact_id: int | None = None


def _is_locked(workspace: Workspace, issued: IssuedLinkToken, ip_address: str | None) -> bool:
    since = timezone.now() - ATTEMPT_WINDOW
    recent = LinkVerificationAttempt.objects.filter(
        workspace=workspace, created_at__gte=since, succeeded=False
    )
    if recent.filter(link_token=issued.token).count() > MAX_ATTEMPTS_PER_TOKEN:
        return True
    if recent.filter(line_user_id=issued.line_user_id).count() > MAX_ATTEMPTS_PER_FRIEND:
        return True
    return (
        ip_address is not None
        and recent.filter(ip_address=ip_address).count() > MAX_ATTEMPTS_PER_IP
    )


def find_customer(
    workspace: Workspace, external_id: str, phone: str, birth_date: date | None
) -> Contact | None:
    contact = Contact.objects.filter(workspace=workspace, external_id=external_id.strip()).first()
    if contact is None:
        return None
    if phone:
        # The importer's own normaliser: a number the import stored is the number typed here.
        try:
            wanted = clean_phone(phone)
        except CleanError:
            wanted = None
        if wanted is not None and contact.phone and wanted == contact.phone:
            return contact
    if birth_date is not None and contact.birth_date == birth_date:
        return contact
    return None


def verify_customer(
    workspace: Workspace,
    *,
    issued: IssuedLinkToken,
    ip_address: str | None,
    external_id: str,
    phone: str = "",
    birth_date: date | None = None,
) -> VerificationResult:
    """Check the customer's answers; on success issue a nonce and the LINE redirect URL.

    The attempt is recorded (committed) before the answers are checked and the limit is
    counted including it, so parallel guesses cannot slip past the limit. `issued` is a token
    `check_link_token` accepted: answers are never checked for a token we did not issue.
    """
    link_token = issued.token
    attempt = LinkVerificationAttempt.objects.create(
        workspace=workspace,
        link_token=link_token,
        line_user_id=issued.line_user_id,
        ip_address=ip_address,
    )
    if _is_locked(workspace, issued, ip_address):
        return VerificationResult(locked=True)
    contact = find_customer(workspace, external_id, phone, birth_date)
    if contact is None:
        return VerificationResult()
    nonce = secrets.token_urlsafe(32)  # 256 bits from the OS CSPRNG, URL-safe, 43 chars
    with transaction.atomic():
        LinkVerificationAttempt.objects.filter(pk=attempt.pk).update(succeeded=True)
        AccountLinkNonce.objects.create(
            workspace=workspace,
            contact=contact,
            nonce=nonce,
            link_token=link_token,
            expires_at=timezone.now() + NONCE_TTL,
        )
    url = hosts_for(workspace.api_base_url).account_link_url(link_token, nonce)
    return VerificationResult(redirect_url=url, contact_id=contact.pk)


# --- the accountLink event -----------------------------------------------------------------


def _nonce_problem(workspace: Workspace, nonce: str) -> str:
    found = AccountLinkNonce.objects.filter(workspace=workspace, nonce=nonce).first()
    if found is None:
        return "unknown nonce"
    if found.used_at is not None:
        return f"nonce already used at {found.used_at.isoformat()}"
    return f"nonce expired at {found.expires_at.isoformat()}"


def _mark_token_used(workspace: Workspace, nonce: str) -> None:
    """LINE consumed the token behind this nonce (ok or failed): the page refuses it now."""
    token = (
        AccountLinkNonce.objects.filter(workspace=workspace, nonce=nonce)
        .values_list("link_token", flat=True)
        .first()
    )
    if token is not None:
        IssuedLinkToken.objects.filter(
            workspace=workspace, token=token, used_at__isnull=True
        ).update(used_at=timezone.now())


def link_from_event(event: WebhookEvent, link: schema.LinkDetail) -> Outcome:
    """Runs inside the event's processing transaction: everything here commits or none of it.

    Expiry is judged at the event's own timestamp (when LINE linked), so a retry of a failed
    processing run hours later still links.
    """
    workspace = event.workspace
    user_id = event.source_user_id
    if link.nonce:
        _mark_token_used(workspace, link.nonce)
    if link.result != "ok":
        return Outcome(WebhookStatus.IGNORED, "LINE reported the account link failed")
    if not user_id or not link.nonce:
        return Outcome(WebhookStatus.IGNORED, "accountLink without a user ID or nonce")
    claimed = AccountLinkNonce.objects.filter(
        workspace=workspace,
        nonce=link.nonce,
        used_at__isnull=True,
        expires_at__gte=event.timestamp,
    ).update(used_at=timezone.now(), used_by_line_user_id=user_id)
    if claimed != 1:
        return Outcome(WebhookStatus.IGNORED, _nonce_problem(workspace, link.nonce))
    nonce = AccountLinkNonce.objects.get(workspace=workspace, nonce=link.nonce)
    customer = Contact.objects.select_for_update().get(pk=nonce.contact_id)
    payload = {"contact_id": customer.pk, "line_user_id": user_id}
    if customer.line_user_id == user_id:
        return Outcome(note=f"contact {customer.pk} was already linked", payload=payload)
    follower = locked_line_contact(workspace, user_id)
    if follower.line_status == LineStatus.NONE:
        # Only friends get link tokens, so this user follows us even if no follow event or
        # sync has said so yet; later follow/unfollow events still decide by their timestamps.
        follower.line_status = LineStatus.FOLLOWING
    try:
        with transaction.atomic():
            merged = merge_contacts(
                customer, follower, via=LinkedVia.ACCOUNT_LINK, at=event.timestamp
            )
    except MergeConflict as exc:
        return Outcome(WebhookStatus.IGNORED, f"not linked: {exc}", payload)
    # merge_contacts tags a customer who gained a LINE identity; tagging again is a no-op and
    # keeps the promise even if that rule changes.
    add_tags(workspace, [merged.pk], [LINE_TAG], source=TagSource.AUTO, at=event.timestamp)
    return Outcome(note=f"linked contact {merged.pk}", payload=payload)
