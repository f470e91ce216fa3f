"""Bearer-token authentication and the permission checks endpoints make."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from otodoke.api.errors import ApiError, RateLimitError
from otodoke.api.models import SCOPE_PERMISSIONS, ApiToken, Scope
from otodoke.api.parsing import check_request_text
from otodoke.api.services import consume_rate, find_token
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission


class Caller(Protocol):
    """Who an API operation acts for: an API token (`Principal`), or the command line
    (`otodoke.api.commandline.CliCaller`), which runs the same operations for scripts."""

    @property
    def workspace(self) -> Workspace: ...

    @property
    def label(self) -> str: ...

    @property
    def sees_pii(self) -> bool: ...

    def require(self, permission: Permission) -> None: ...


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token acting for its workspace with its scopes' permissions.

    How a token acts on services written for staff users: the API checks the permission from
    the token's scopes (`require`), then calls the service as a trusted caller (`actor=None`)
    and passes `label` wherever the service writes the audit log, so the log names the token.
    A token is never turned into a fake `User`: approval and over-quota confirmation are human
    acts that services only accept from a staff user, so tokens cannot do them.
    """

    token: ApiToken

    @property
    def workspace(self) -> Workspace:
        return self.token.workspace

    @property
    def label(self) -> str:
        # How the audit log and `created_by` style fields name an API caller.
        return f"api:{self.token.name} ({self.token.key_id})"

    def can(self, permission: Permission) -> bool:
        return permission in self.token.permissions

    @property
    def sees_pii(self) -> bool:
        return self.can(Permission.VIEW_PII)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            scope = next((s for s, p in SCOPE_PERMISSIONS.items() if p == permission), None)
            raise ApiError(
                403,
                _("This token lacks the “%(scope)s” scope")
                % {"scope": scope.value if scope else permission.value},
                code="missing_scope",
            )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer otd_…`. Rate limiting happens here, right after the token is
    known, so a throttled request does no other work."""

    def authenticate(self, request: HttpRequest, token: str) -> Principal | None:
        found = find_token(token.strip())
        if found is not None:
            # Here because it runs before any parameter reaches a query (see parsing).
            check_request_text(request)
        if found is None:
            return None
        wait = consume_rate(found)
        if wait:
            raise RateLimitError(wait)
        return Principal(found)


def principal(request: HttpRequest) -> Principal:
    """The caller of an authenticated operation (ninja stores it on `request.auth`)."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, Principal):  # pragma: no cover - every router requires auth
        raise ApiError(401, _("A valid API token is required"))
    return auth


def require(request: HttpRequest, permission: Permission) -> Principal:
    caller = principal(request)
    caller.require(permission)
    return caller


__all__ = ["Caller", "Principal", "Scope", "TokenAuth", "principal", "require"]
