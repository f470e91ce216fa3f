"""Named actions on API tokens: create, revoke, authenticate, rate-limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.api.models import ApiToken, Scope
from otodoke.workspaces.models import AuditAction, Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import AnyUser, record_audit, require

TOKEN_PREFIX = "otd_"  # noqa: S105 - a public marker (secret scanners match it), not a secret
KEY_ID_BYTES = 6  # 12 hex characters: not secret, only has to be unique
SECRET_BYTES = 32
# last_used_at is a hint for humans ("is this token still in use?"); writing it at most once a
# minute keeps it cheap.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CreatedToken:
    token: ApiToken
    # The full secret token. It exists only here: it is never stored and never shown again.
    plaintext: str


def hash_secret(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_scopes(value: str | Iterable[str]) -> list[Scope]:
    names = value.split(",") if isinstance(value, str) else list(value)
    scopes: list[Scope] = []
    for name in (n.strip() for n in names):
        if not name:
            continue
        try:
            scope = Scope(name)
        except ValueError as exc:
            raise ValidationError(
                _("Unknown scope “%(scope)s” (known: %(known)s)"),
                params={"scope": name, "known": ", ".join(s.value for s in Scope)},
            ) from exc
        if scope not in scopes:
            scopes.append(scope)
    if not scopes:
        raise ValidationError(_("A token needs at least one scope"))
    return scopes


@transaction.atomic
def create_token(
    workspace: Workspace,
    *,
    name: str,
    scopes: Iterable[Scope | str],
    actor: AnyUser | None = None,
    actor_name: str | None = None,
    rate_per_minute: int | None = None,
    burst: int | None = None,
) -> CreatedToken:
    """Create a token. A staff member needs *manage settings* and every permission the scopes
    grant (nobody hands out more than they hold); the CLI (no actor) is the server operator."""
    wanted = parse_scopes(list(scopes))
    name = name.strip()
    if not name:
        raise ValidationError(_("A token needs a name"))
    token = ApiToken(workspace=workspace, name=name[:100], scopes=[s.value for s in wanted])
    if actor is not None:
        require(actor, workspace, Permission.MANAGE_SETTINGS)
        for permission in token.permissions:
            require(actor, workspace, permission)
        if actor.is_authenticated:
            token.created_by_id = actor.pk
    token.created_by_label = actor_name or (actor.get_username() if actor else "cli")
    if rate_per_minute is not None:
        token.rate_per_minute = max(1, rate_per_minute)
    if burst is not None:
        token.burst = max(1, burst)
    token.key_id = secrets.token_hex(KEY_ID_BYTES)
    plaintext = f"{TOKEN_PREFIX}{token.key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    token.secret_hash = hash_secret(plaintext)
    token.save()
    record_audit(
        workspace,
        AuditAction.API_TOKEN_CREATED,
        actor=actor,
        label=token.created_by_label,
        target=f"{token.name} ({token.key_id})",
        details={"scopes": token.scopes, "key_id": token.key_id},
    )
    return CreatedToken(token=token, plaintext=plaintext)


@transaction.atomic
def revoke_token(
    token: ApiToken, *, actor: AnyUser | None = None, actor_name: str | None = None
) -> bool:
    """Revoke a token; False when it already was. Revocation is immediate: every request looks
    the token up, nothing is cached."""
    if actor is not None:
        require(actor, token.workspace, Permission.MANAGE_SETTINGS)
    now = timezone.now()
    # Conditional UPDATE, not check-then-act: two concurrent revocations audit only once.
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if not changed:
        return False
    token.revoked_at = now
    record_audit(
        token.workspace,
        AuditAction.API_TOKEN_REVOKED,
        actor=actor,
        label=actor_name or (actor.get_username() if actor else "cli"),
        target=f"{token.name} ({token.key_id})",
        details={"key_id": token.key_id},
    )
    return True


def find_token(plaintext: str) -> ApiToken | None:
    """The active token this secret belongs to, or None."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    key_id, sep, _secret = plaintext[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(key_id) != KEY_ID_BYTES * 2:
        return None
    token = ApiToken.objects.select_related("workspace").filter(key_id=key_id).first()
    if token is None:
        # Hash anyway so an unknown key ID costs the same as a wrong secret.
        hmac.compare_digest(hash_secret(plaintext), "0" * 64)
        return None
    if not hmac.compare_digest(hash_secret(plaintext), token.secret_hash):
        return None
    if token.revoked_at is not None:
        return None
    return token


def _now_us() -> int:
    return time.time_ns() // 1000


def consume_rate(token: ApiToken) -> float:
    """Take one request from the token's budget: 0.0 when allowed, else seconds to wait.

    GCRA (the token bucket as a single timestamp): each request pushes the token's theoretical
    arrival time (TAT) one interval further; a request is allowed while TAT is at most
    `burst - 1` intervals ahead of now. The check and the push are one conditional UPDATE, so
    it is atomic across threads, processes and machines on SQLite and PostgreSQL alike, with
    no cache server. The same statement refreshes `last_used_at` when it is stale, so using a
    token costs one write per request.
    """
    now_us = _now_us()
    interval = max(1, 60_000_000 // max(1, token.rate_per_minute))
    slack = (max(1, token.burst) - 1) * interval
    updates: dict[str, object] = {
        "throttle_tat": Greatest(F("throttle_tat"), Value(now_us)) + interval
    }
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        updates["last_used_at"] = now
    allowed = ApiToken.objects.filter(pk=token.pk, throttle_tat__lte=now_us + slack).update(
        **updates
    )
    if allowed:
        return 0.0
    tat = ApiToken.objects.filter(pk=token.pk).values_list("throttle_tat", flat=True).first()
    if tat is None:
        return 0.0
    return max(0.001, (tat - slack - now_us) / 1_000_000)
