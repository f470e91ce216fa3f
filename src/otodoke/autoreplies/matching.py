"""Which rule answers: keyword and postback matching, business hours. No writes here."""

from __future__ import annotations

import datetime as dt
import unicodedata
from urllib.parse import parse_qsl

from otodoke.autoreplies.models import MatchType, Rule, RuleKind
from otodoke.workspaces.models import Workspace


def normalised(text: str) -> str:
    """Full-width and half-width forms, case and surrounding spaces do not matter:
    「ＹＯＹＡＫＵ」, 「yoyaku」 and 「 Yoyaku 」 are the same keyword."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def keyword_matches(rule: Rule, text: str) -> bool:
    said = normalised(text)
    words = [w for w in (normalised(k) for k in rule.keywords) if w]
    if rule.match_type == MatchType.CONTAINS:
        return any(w in said for w in words)
    return said in words


def postback_matches(rule: Rule, data: str) -> bool:
    """`data` is the postback's `data` (`action=reserve&menu=cut`): the rule's key must be
    there, with the rule's value when it names one."""
    if not rule.postback_key:
        return False
    return any(
        key == rule.postback_key and (not rule.postback_value or value == rule.postback_value)
        for key, value in parse_qsl(data, keep_blank_values=True)
    )


def is_open(rule: Rule, at: dt.datetime, tz: dt.tzinfo) -> bool:
    """Whether `at` falls inside the rule's business hours (in the workspace's time zone).
    Hours that end before they start run past midnight: the part after midnight belongs to
    the day the opening started."""
    if rule.opens_at is None or rule.closes_at is None:
        return True
    local = at.astimezone(tz)
    days = set(rule.open_days)
    now, opens, closes = local.time(), rule.opens_at, rule.closes_at
    if opens <= closes:
        return local.weekday() in days and opens <= now < closes
    if now >= opens:
        return local.weekday() in days
    return now < closes and (local.weekday() - 1) % 7 in days


def _rules(workspace: Workspace, kind: RuleKind) -> list[Rule]:
    return list(Rule.objects.filter(workspace=workspace, kind=kind).enabled().in_order())


def rule_for_message(workspace: Workspace, text: str, at: dt.datetime) -> Rule | None:
    """The first keyword rule (by priority) the text matches; else, outside business hours,
    the out-of-hours reply; else None."""
    for rule in _rules(workspace, RuleKind.KEYWORD):
        if keyword_matches(rule, text):
            return rule
    return away_rule(workspace, at)


def away_rule(workspace: Workspace, at: dt.datetime) -> Rule | None:
    tz = workspace.tzinfo
    for rule in _rules(workspace, RuleKind.AWAY):
        if not is_open(rule, at, tz):
            return rule
    return None


def rule_for_postback(workspace: Workspace, data: str) -> Rule | None:
    for rule in _rules(workspace, RuleKind.POSTBACK):
        if postback_matches(rule, data):
            return rule
    return None


def welcome_rule(workspace: Workspace) -> Rule | None:
    rules = _rules(workspace, RuleKind.WELCOME)
    return rules[0] if rules else None
