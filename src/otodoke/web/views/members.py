"""設定 → メンバー: members and roles, new logins, invitation links; and the page an invitee
opens. Every action is checked and audited in `otodoke.workspaces.members`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.forms import AddMemberForm, MemberRoleForm
from otodoke.web.forms_members import (
    AcceptInvitationForm,
    CreateMemberForm,
    InviteForm,
    add_service_errors,
)
from otodoke.web.htmx import render_page
from otodoke.workspaces import members as service
from otodoke.workspaces.models import Invitation, Membership
from otodoke.workspaces.roles import Permission, Role

# The new link is shown once, on the page the inviter lands on after creating it.
_NEW_LINK = "otodoke_new_invitation_url"
_LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _page(
    request: HttpRequest,
    access: WorkspaceAccess,
    *,
    add_form: AddMemberForm | None = None,
    create_form: CreateMemberForm | None = None,
    invite_form: InviteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = [
        (m, MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}"))
        for m in service.members_of(access.workspace)
    ]
    context = {
        "access": access,
        "section": "settings",
        "tab": "members",
        "rows": rows,
        "invitations": service.pending_invitations(access.workspace),
        "new_link": request.session.pop(_NEW_LINK, None),
        "form": add_form or AddMemberForm(),
        "create_form": create_form or CreateMemberForm(),
        "invite_form": invite_form or InviteForm(),
    }
    return render_page(request, "web/settings/members.html", context, status=status)


def _back(access: WorkspaceAccess) -> HttpResponse:
    return redirect("web:settings_members", slug=access.workspace.slug)


@never_cache
@workspace_view(Permission.MANAGE_MEMBERS)
def members(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    """The list; a POST adds an existing login (another workspace's member, say)."""
    form = AddMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = service.add_member(
                access.workspace,
                identifier=form.cleaned_data["identifier"],
                role=Role(form.cleaned_data["role"]),
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error("identifier", exc)
        else:
            messages.success(
                request, _("%(user)s was added.") % {"user": added.user.get_username()}
            )
            return _back(access)
    return _page(request, access, add_form=form, status=400 if form.errors else 200)


@require_POST
@workspace_view(Permission.MANAGE_MEMBERS)
def member_create(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = CreateMemberForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            created = service.create_member(
                access.workspace,
                username=data["username"],
                email=data["email"],
                password=data["password1"],
                role=Role(data["role"]),
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request,
                _("Login %(user)s was created. Tell them the password in person, not by e-mail.")
                % {"user": created.user.get_username()},
            )
            return _back(access)
    return _page(request, access, create_form=form, status=400)


@require_POST
@workspace_view(Permission.MANAGE_MEMBERS)
def member_invite(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            made = service.invite(
                access.workspace,
                role=Role(form.cleaned_data["role"]),
                email=form.cleaned_data["email"],
                days=form.cleaned_data["days"],
                actor=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            request.session[_NEW_LINK] = made.url
            return _back(access)
    return _page(request, access, invite_form=form, status=400)


@require_POST
@workspace_view(Permission.MANAGE_MEMBERS)
def invitation_revoke(
    request: HttpRequest, access: WorkspaceAccess, invitation_id: int
) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=invitation_id, workspace=access.workspace)
    service.revoke_invitation(access.workspace, invitation_id=invitation.pk, actor=request.user)
    messages.success(request, _("The invitation was withdrawn; its link no longer works."))
    return _back(access)


@require_POST
@workspace_view(Permission.MANAGE_MEMBERS)
def member_role(request: HttpRequest, access: WorkspaceAccess, member_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=member_id, workspace=access.workspace)
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        try:
            service.change_member_role(
                access.workspace,
                membership_id=membership.pk,
                role=Role(form.cleaned_data["role"]),
                actor=request.user,
            )
            messages.success(request, _("Role changed."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    return _back(access)


@require_POST
@workspace_view(Permission.MANAGE_MEMBERS)
def member_remove(request: HttpRequest, access: WorkspaceAccess, member_id: int) -> HttpResponse:
    membership = get_object_or_404(Membership, pk=member_id, workspace=access.workspace)
    try:
        service.remove_member(access.workspace, membership_id=membership.pk, actor=request.user)
        messages.success(request, _("Member removed."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _back(access)


# --- the invitee's page (no login needed) ----------------------------------------------------


@never_cache
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Open an invitation link: make a login (or use the one you are logged in with) and join."""
    try:
        invitation = service.open_invitation(token)
    except service.InvitationError as exc:
        return render(request, "web/invitation.html", {"problem": str(exc)}, status=410)
    user = request.user if isinstance(request.user, User) else None
    form = AcceptInvitationForm(
        request.POST if request.method == "POST" and user is None else None,
        initial={"email": invitation.email},
    )
    if request.method == "POST":
        try:
            if user is not None:
                joined = service.accept_as(token, user)
            elif form.is_valid():
                data = form.cleaned_data
                joined = service.accept_with_new_login(
                    token,
                    username=data["username"],
                    email=data["email"],
                    password=data["password1"],
                )
                login(request, joined.user, backend=_LOGIN_BACKEND)
            else:
                joined = None
        except service.InvitationError as exc:
            return render(request, "web/invitation.html", {"problem": str(exc)}, status=410)
        except ValidationError as exc:
            if user is not None:
                return render(
                    request, "web/invitation.html", {"problem": " ".join(exc.messages)}, status=409
                )
            form.add_service_errors(exc)
            joined = None
        if joined is not None:
            messages.success(
                request,
                _("Welcome! You joined %(workspace)s as %(role)s.")
                % {"workspace": joined.workspace.name, "role": joined.get_role_display()},
            )
            return redirect("web:dashboard", slug=joined.workspace.slug)
    context = {"invitation": invitation, "form": form, "signed_in": user}
    return render(request, "web/invitation.html", context, status=400 if form.errors else 200)
