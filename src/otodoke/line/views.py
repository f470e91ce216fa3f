"""LINE webhook receiver and the account-link verification page. Thin: parse, call a service."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from otodoke.contacts.privacy import PrivacyRefused
from otodoke.core.clientip import client_ip
from otodoke.line import ingest, linking, unlinking
from otodoke.line.forms import VerificationForm
from otodoke.workspaces.models import Workspace

SIGNATURE_HEADER = "HTTP_X_LINE_SIGNATURE"


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, webhook_key: str) -> HttpResponse:
    """Verify, store, answer (`otodoke.line.ingest`); processing is a drain task's job. Under
    ASGI (`otodoke serve`) `otodoke.line.asgi` answers this URL before Django's middleware."""
    answer = ingest.ingest(webhook_key, request.body, request.META.get(SIGNATURE_HEADER))
    return HttpResponse(answer.body, status=answer.status, content_type="application/json")


def _token_problem_text(problem: linking.TokenProblem) -> str:
    if problem == linking.TokenProblem.EXPIRED:
        return _(
            "This link has expired (a link works for 10 minutes). Ask for a new invitation in LINE."
        )
    if problem == linking.TokenProblem.USED:
        return _("This link was already used. Ask for a new invitation in LINE.")
    return _(
        "This link is not valid. Open the latest invitation from LINE, "
        "or ask the store for a new one."
    )


@require_http_methods(["GET", "POST"])
def link_verify(request: HttpRequest, slug: str) -> HttpResponse:
    """Where a friend proves which customer they are before LINE links the accounts."""
    workspace = get_object_or_404(Workspace, slug=slug)
    link_token = (request.GET.get("linkToken") or request.POST.get("link_token") or "").strip()
    context: dict[str, object] = {"workspace": workspace, "link_token": link_token}
    if not link_token or len(link_token) > 255:
        context["problem"] = _("This link is incomplete. Open it again from LINE.")
        return render(request, "line/link_problem.html", context, status=400)
    issued, problem = linking.check_link_token(workspace, link_token)
    if issued is None or problem is not None:
        # A token we never issued (or one LINE no longer accepts) gets no form and no check
        # of the answers, so the page cannot be used to test membership numbers.
        context["problem"] = _token_problem_text(problem or linking.TokenProblem.UNKNOWN)
        status = 404 if problem == linking.TokenProblem.UNKNOWN else 410
        return render(request, "line/link_problem.html", context, status=status)

    if request.method == "GET":
        form = VerificationForm(initial={"link_token": link_token})
        return render(request, "line/link_verify.html", {**context, "form": form})

    form = VerificationForm(request.POST)
    if not form.is_valid():
        return render(request, "line/link_verify.html", {**context, "form": form}, status=400)
    result = linking.verify_customer(
        workspace,
        issued=issued,
        ip_address=client_ip(request),
        external_id=form.cleaned_data["external_id"],
        phone=form.cleaned_data.get("phone") or "",
        birth_date=form.cleaned_data.get("birth_date"),
    )
    if result.locked:
        context["problem"] = _(
            "Too many attempts. For your security, please wait 10 minutes and try again."
        )
        return render(request, "line/link_problem.html", context, status=429)
    if result.redirect_url is None:
        form.add_error(
            None,
            _("We could not find a member with these details. Please check and try again."),
        )
        return render(request, "line/link_verify.html", {**context, "form": form}, status=400)
    return HttpResponseRedirect(result.redirect_url)


def _masked(number: str | None) -> str:
    """A membership number with all but its last 4 characters hidden."""
    number = number or ""
    return "•" * max(0, len(number) - 4) + number[-4:]


@require_http_methods(["GET", "POST"])
def unlink(request: HttpRequest, slug: str) -> HttpResponse:
    """Where a linked friend unlinks (see `unlinking`): GET asks, POST (CSRF + token) does."""
    workspace = get_object_or_404(Workspace, slug=slug)
    token = (request.POST.get("t") or request.GET.get("t") or "").strip()
    context: dict[str, object] = {"workspace": workspace}
    contact = unlinking.contact_for_token(workspace, token) if token else None
    done = None
    if contact is not None and request.method == "POST":
        try:
            done = unlinking.unlink_by_customer(workspace, token)
        except PrivacyRefused:  # unlinked in between (another tab, the store)
            done = None
        if done is not None:
            return render(request, "line/unlink.html", {**context, "done": True})
    if contact is None or request.method == "POST":
        context["problem"] = _(
            "This link is not valid, has expired or was already used. "
            "Send 「連携解除」 in the LINE chat for a new one."
        )
        return render(request, "line/link_problem.html", context, status=404)
    context |= {"token": token, "masked_number": _masked(contact.external_id)}
    return render(request, "line/unlink.html", context)
