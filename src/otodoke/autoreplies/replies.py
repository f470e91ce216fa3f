"""Answering friends: choose the rule for a follow, a message or a postback, record the answer
(once per rule and event) and send it by the event's reply token.

A reply costs no quota, a push does: when the token has expired the answer is not pushed
(an automatic answer is not worth a message of the month's quota) and the record says why.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.autoreplies import matching
from otodoke.autoreplies.models import AutoReply, ReplyStatus, Rule, RuleKind
from otodoke.contacts.models import Contact
from otodoke.contacts.tagging import add_tags, tag_names_by_contact
from otodoke.line.models import WebhookEvent
from otodoke.messaging.personalize import (
    BusinessData,
    TemplateProblem,
    compile_messages,
    recipient_context,
    uses_variable,
)
from otodoke.messaging.validation import limit_problems
from otodoke.workspaces.models import Workspace

logger = logging.getLogger(__name__)

# The time replies are judged by; tests put a later clock here instead of sleeping.
clock: Callable[[], dt.datetime] = timezone.now


# --- choosing and recording (inside the webhook event's processing transaction) ------------


def on_follow(event: WebhookEvent, contact_id: int) -> AutoReply | None:
    rule = matching.welcome_rule(event.workspace)
    return record(rule, event, contact_id) if rule else None


def on_message(event: WebhookEvent, contact_id: int, text: str) -> AutoReply | None:
    rule = matching.rule_for_message(event.workspace, text, event.timestamp)
    return record(rule, event, contact_id) if rule else None


def on_postback(event: WebhookEvent, contact_id: int, data: str) -> AutoReply | None:
    rule = matching.rule_for_postback(event.workspace, data)
    return record(rule, event, contact_id) if rule else None


def record(rule: Rule, event: WebhookEvent, contact_id: int) -> AutoReply | None:
    """Write the answer's row (unique per rule and event) and, once, the rule's actions (tag,
    scenario); the reply itself is sent by a task after this transaction commits. Returns
    None when this event was already answered by this rule."""
    from otodoke.line.services import must_stay_silent, reply_window

    if must_stay_silent(event) or not event.source_user_id:
        return None
    token, until = reply_window(event)
    try:
        with transaction.atomic():
            reply = AutoReply.objects.create(
                workspace=event.workspace,
                rule=rule,
                webhook_event_id=event.webhook_event_id,
                contact_id=contact_id,
                line_user_id=event.source_user_id,
                reply_token=token,
                reply_until=dt.datetime.fromtimestamp(until, dt.UTC) if token else None,
                created_at=timezone.now(),
            )
    except IntegrityError:
        return None
    _apply_actions(rule, contact_id, event.timestamp)
    from otodoke.autoreplies.tasks import send_auto_reply

    transaction.on_commit(lambda: send_auto_reply.enqueue(reply.pk))
    return reply


def _apply_actions(rule: Rule, contact_id: int, at: dt.datetime) -> None:
    if rule.add_tag:
        add_tags(rule.workspace, [contact_id], [rule.add_tag], source="auto", at=at)
    if rule.scenario_id is not None:
        from otodoke.scenarios.triggers import start_scenario

        start_scenario(
            rule.workspace, rule.scenario_id, [contact_id], now=at, source=f"autoreply:{rule.pk}"
        )


# --- sending (a task, after commit; never inside a transaction) ----------------------------


def _finish(
    reply: AutoReply,
    status: ReplyStatus,
    reason: str = "",
    request_id: str = "",
    messages: list[dict[str, Any]] | None = None,
) -> str:
    AutoReply.objects.filter(pk=reply.pk).update(
        status=status,
        reason=reason[:300],
        request_id=request_id[:100],
        messages=messages or [],
        finished_at=clock(),
    )
    return status


def deliver(reply_id: int) -> str:
    """Send one recorded answer. Claimed first (pending → sending, one winner): run twice or
    by two workers at once, it replies once; a crash after the claim loses the reply rather
    than risk a second one, since LINE's reply endpoint has no retry key."""
    from otodoke.line.client import LineApiError, LineClient

    claimed = AutoReply.objects.pending().filter(pk=reply_id).update(status=ReplyStatus.SENDING)
    if not claimed:
        return "already handled"
    reply = AutoReply.objects.select_related("rule", "workspace", "contact").get(pk=reply_id)
    if not reply.reply_token:
        return _finish(reply, ReplyStatus.EXPIRED, _("The event carried no reply token."))
    if reply.reply_until is None or clock() >= reply.reply_until:
        return _finish(
            reply,
            ReplyStatus.EXPIRED,
            _("The reply token expired before the answer could go; not pushed, to save quota."),
        )
    try:
        messages = rendered_messages(reply.rule, reply.contact, reply.workspace)
    except TemplateProblem as exc:
        return _finish(reply, ReplyStatus.FAILED, f"{exc.path}: {exc.message}")
    problems = limit_problems(messages)
    if problems:
        return _finish(reply, ReplyStatus.FAILED, str(problems[0]))
    try:
        with LineClient.for_workspace(reply.workspace) as client:
            contact = reply.contact
            if contact is not None and _should_invite(reply.rule, contact):
                messages.append(_invitation(reply.workspace, contact, client))
            request_id = client.reply(reply.reply_token, messages)
    except LineApiError as exc:
        # Tried once: the token is single use, and a reply that timed out may have arrived.
        expired = exc.status == 400 and "reply token" in exc.message.lower()
        status = ReplyStatus.EXPIRED if expired else ReplyStatus.FAILED
        return _finish(reply, status, exc.describe())
    return _finish(reply, ReplyStatus.REPLIED, request_id=request_id, messages=messages)


def _should_invite(rule: Rule, contact: Contact) -> bool:
    from otodoke.line.invites import invite_problem

    return (
        rule.kind == RuleKind.WELCOME and rule.invite_unlinked and invite_problem(contact) is None
    )


def _invitation(workspace: Workspace, contact: Contact, client: Any) -> dict[str, Any]:
    from otodoke.line.invites import invite_message
    from otodoke.line.linking import issue_account_link

    invite = issue_account_link(workspace, contact.line_user_id or "", client=client)
    return invite_message(invite.url, friend_language(contact))


def friend_language(contact: Contact) -> str:
    """The friend's LINE language when we speak it, else the install's default."""
    spoken = {code for code, _name in settings.LANGUAGES}
    language = (contact.line_language or "").split("-")[0].lower()
    return language if language in spoken else settings.LANGUAGE_CODE


def rendered_messages(
    rule: Rule, contact: Contact | None, workspace: Workspace
) -> list[dict[str, Any]]:
    """The rule's messages for this friend: the shop's data about them when they are linked to
    a customer (name, customer number, visits, spend, tags), fallbacks otherwise."""
    compiled = compile_messages(rule.messages)
    if contact is None:
        return compiled.render(recipient_context("", {}))
    tags = tag_names_by_contact([contact.pk]) if uses_variable(rule.messages, "tags") else {}
    business = BusinessData(
        customer_number=contact.external_id or "",
        last_visit_at=contact.last_visit_at,
        visit_count=contact.visit_count,
        total_spent=contact.total_spent,
        tags=tuple(tags.get(contact.pk, ())),
    )
    tz = workspace.tzinfo
    return compiled.render(
        recipient_context(
            contact.name, contact.attributes, business, tz=tz, today=clock().astimezone(tz).date()
        )
    )


# --- the test box ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Explanation:
    rule: Rule | None
    why: str


def explain(workspace: Workspace, text: str, at: dt.datetime | None = None) -> Explanation:
    """Which rule would answer `text` sent at `at` (default now), and why, in staff words."""
    at = at or clock()
    for rule in (
        Rule.objects.filter(workspace=workspace, kind=RuleKind.KEYWORD).enabled().in_order()
    ):
        if matching.keyword_matches(rule, text):
            return Explanation(rule, _("Keyword rule “%(name)s” matches.") % {"name": rule.name})
    away = matching.away_rule(workspace, at)
    if away is not None:
        return Explanation(away, _("No keyword matches, and it is outside business hours now."))
    return Explanation(None, _("No rule answers this message."))
