"""Workspace-scoped views: load the workspace from the URL, check membership and a permission.

Every page under `/w/<slug>/` goes through `workspace_view`. Non-members get 404 (a workspace's
existence is itself private); members without the permission get 403. Links are hidden in
templates too, but that is cosmetics: this check is the one that counts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.workspaces.models import Membership, Workspace
from otodoke.workspaces.roles import Permission, Role
from otodoke.workspaces.services import can_create_workspace

P = ParamSpec("P")


@dataclass(frozen=True)
class WorkspaceAccess:
    """The current member's view of one workspace, handed to every workspace view."""

    workspace: Workspace
    membership: Membership
    user: User
    # Permission value → granted, for templates: `{% if access.perms.view_pii %}`.
    perms: dict[str, bool] = field(default_factory=dict)

    def can(self, permission: Permission) -> bool:
        return self.membership.can(permission)

    def require(self, permission: Permission) -> None:
        if not self.can(permission):
            raise PermissionDenied(
                _("Your role does not allow this (%(permission)s).")
                % {"permission": permission.value}
            )

    @property
    def may_create_workspace(self) -> bool:
        """Whether the switcher offers 「新しいワークスペース」 (owning this one decides it
        without a query)."""
        return self.membership.role == Role.OWNER or can_create_workspace(self.user)

    @property
    def workspaces(self) -> QuerySet[Workspace]:
        """Every workspace this user belongs to, for the switcher."""
        return Workspace.objects.for_user(self.user)


def load_access(user: User | AnonymousUser, slug: str) -> WorkspaceAccess:
    if not isinstance(user, User):
        raise Http404
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__slug=slug)
        .first()
    )
    if membership is None:
        raise Http404(_("No such workspace"))
    perms = {p.value: membership.can(p) for p in Permission}
    return WorkspaceAccess(membership.workspace, membership, user, perms)


WorkspaceView = Callable[Concatenate[HttpRequest, WorkspaceAccess, P], HttpResponse]


def workspace_view(
    permission: Permission = Permission.VIEW,
) -> Callable[[WorkspaceView[P]], Callable[..., HttpResponse]]:
    """Decorate `view(request, access, **url_kwargs)`; the URL supplies `slug`."""

    def decorate(view: WorkspaceView[P]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            access = load_access(request.user, slug)
            access.require(permission)
            # Times on every page read in the workspace's own time zone, not the server's.
            with timezone.override(access.workspace.tzinfo):
                return view(request, access, *args, **kwargs)

        return wrapped

    return decorate
