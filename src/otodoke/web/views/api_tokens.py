"""Settings → API tokens: issue a token (its secret shown once), list and revoke them, from
the UI as `otodoke api-token` does from the command line. Thin: the api services decide who
may hand out which scope and write the audit log."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from otodoke.api.models import ApiToken, Scope
from otodoke.api.services import create_token, revoke_token
from otodoke.web.access import WorkspaceAccess, workspace_view
from otodoke.web.htmx import render_page
from otodoke.workspaces.roles import Permission

SCOPE_LABELS = {
    Scope.READ: gettext_lazy("Read contacts, segments and results"),
    Scope.WRITE: gettext_lazy("Add and change contacts, events and tags"),
    Scope.SEND: gettext_lazy("Send campaigns"),
    Scope.PII: gettext_lazy("See LINE user IDs, phones and e-mails"),
    Scope.EXPORT: gettext_lazy("Export files for LINE"),
    Scope.DELETE: gettext_lazy("Delete contacts"),
}


class TokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("What the token is for"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("What it may do"),
        choices=[(s.value, SCOPE_LABELS[s]) for s in Scope],
        initial=[Scope.READ.value],
        widget=forms.CheckboxSelectMultiple,
    )


def _page(
    access: WorkspaceAccess, request: HttpRequest, form: TokenForm, created: str = ""
) -> HttpResponse:
    labels = {s.value: str(label) for s, label in SCOPE_LABELS.items()}
    tokens = [
        (token, [labels.get(scope, scope) for scope in token.scopes])
        for token in ApiToken.objects.filter(workspace=access.workspace)
    ]
    context = {
        "access": access,
        "section": "settings",
        "tab": "api_tokens",
        "form": form,
        "tokens": tokens,
        "created": created,
    }
    return render_page(request, "web/settings/api_tokens.html", context)


@workspace_view(Permission.MANAGE_SETTINGS)
def api_tokens(request: HttpRequest, access: WorkspaceAccess) -> HttpResponse:
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = create_token(
                access.workspace,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                actor=access.user,
            )
        except PermissionDenied:
            form.add_error("scopes", _("Your role cannot hand out one of these scopes."))
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # The secret exists only in this response: it is never stored or shown again.
            return _page(access, request, TokenForm(), created=made.plaintext)
    return _page(access, request, form)


@require_POST
@workspace_view(Permission.MANAGE_SETTINGS)
def api_token_revoke(request: HttpRequest, access: WorkspaceAccess, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, workspace=access.workspace)
    if revoke_token(token, actor=access.user):
        messages.success(request, _("Revoked the token “%(name)s”.") % {"name": token.name})
    else:
        messages.info(request, _("That token was already revoked."))
    return redirect("web:settings_api_tokens", slug=access.workspace.slug)
