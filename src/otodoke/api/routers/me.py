"""GET /me: which workspace and scopes a token has (for integrators checking their setup)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from otodoke.api.auth import principal
from otodoke.api.errors import COMMON_ERRORS
from otodoke.api.models import ApiToken

router = Router()


class WorkspaceOut(Schema):
    slug: str
    name: str
    time_zone: str


class TokenOut(Schema):
    name: str
    key_id: str
    scopes: list[str]
    rate_per_minute: int
    burst: int
    created_at: datetime
    workspace: WorkspaceOut


@router.get("/me", response={200: TokenOut, **COMMON_ERRORS}, summary="The calling token")
def me(request: HttpRequest) -> TokenOut:
    return token_out(principal(request).token)


def token_out(token: ApiToken) -> TokenOut:
    """What GET /me answers; `otodoke api-token me` prints the same."""
    return TokenOut(
        name=token.name,
        key_id=token.key_id,
        scopes=sorted(token.scopes),
        rate_per_minute=token.rate_per_minute,
        burst=token.burst,
        created_at=token.created_at,
        workspace=WorkspaceOut(
            slug=token.workspace.slug,
            name=token.workspace.name,
            time_zone=token.workspace.time_zone,
        ),
    )
