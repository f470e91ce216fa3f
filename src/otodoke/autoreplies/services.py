"""Changing auto-reply rules: create, update, enable/disable, reorder, delete. Every change
goes through `clean`, which checks the whole rule (LINE's message limits included) and
raises RuleError with each problem's field, so nothing invalid is ever stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from otodoke.autoreplies.models import MatchType, Rule, RuleKind
from otodoke.messaging.personalize import TemplateProblem, check_templates
from otodoke.messaging.validation import message_problems
from otodoke.scenarios.models import Scenario
from otodoke.workspaces.models import Workspace

MAX_MESSAGES = 5
MAX_KEYWORDS = 20
KEYWORD_MAX = 100
FIELDS = (
    "kind",
    "name",
    "enabled",
    "match_type",
    "keywords",
    "postback_key",
    "postback_value",
    "messages",
    "invite_unlinked",
    "add_tag",
    "scenario_id",
    "open_days",
    "opens_at",
    "closes_at",
)


class RuleError(ValueError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in problems))
        self.problems = problems


@dataclass
class _Problems:
    found: list[tuple[str, str]]

    def add(self, path: str, message: str) -> None:
        self.found.append((path, message))


def _time(value: Any, path: str, problems: _Problems) -> dt.time | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    try:
        return dt.time.fromisoformat(str(value)).replace(second=0, microsecond=0)
    except ValueError:
        problems.add(path, _("Enter a time such as 09:30."))
        return None


def clean(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    """The rule's fields from `data` (FIELDS), checked as a whole. Raises RuleError."""
    problems = _Problems([])
    unknown = sorted(set(data) - set(FIELDS))
    for key in unknown:
        problems.add(key, _("Unknown field."))
    out: dict[str, Any] = {key: data.get(key) for key in FIELDS}
    kind = out["kind"]
    if kind not in RuleKind.values:
        problems.add("kind", _("Choose welcome, keyword, postback or away."))
        raise RuleError(problems.found)
    out["name"] = str(out["name"] or "").strip()
    if not out["name"]:
        problems.add("name", _("Give the rule a name."))
    elif len(out["name"]) > 200:
        problems.add("name", _("At most 200 characters."))
    out["enabled"] = True if out["enabled"] is None else bool(out["enabled"])
    out["match_type"] = out["match_type"] or MatchType.EXACT
    if out["match_type"] not in MatchType.values:
        problems.add("match_type", _("Choose exact or contains."))
    keywords = out["keywords"] or []
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        problems.add("keywords", _("Give the keywords as a list of words."))
        keywords = []
    out["keywords"] = [k.strip() for k in keywords if k.strip()]
    out["postback_key"] = str(out["postback_key"] or "").strip()
    out["postback_value"] = str(out["postback_value"] or "").strip()
    out["add_tag"] = str(out["add_tag"] or "").strip()
    out["invite_unlinked"] = bool(out["invite_unlinked"]) and kind == RuleKind.WELCOME
    if kind == RuleKind.KEYWORD:
        if not out["keywords"]:
            problems.add("keywords", _("Add at least one keyword."))
        if len(out["keywords"]) > MAX_KEYWORDS:
            problems.add("keywords", _("At most %(n)d keywords.") % {"n": MAX_KEYWORDS})
        for index, word in enumerate(out["keywords"]):
            if len(word) > KEYWORD_MAX:
                problems.add(f"keywords[{index}]", _("At most 100 characters."))
    else:
        out["keywords"] = []
    if kind == RuleKind.POSTBACK:
        if not out["postback_key"]:
            problems.add("postback_key", _("Name the postback data key to match (e.g. action)."))
    else:
        out["postback_key"] = out["postback_value"] = ""
    if len(out["add_tag"]) > 100:
        problems.add("add_tag", _("At most 100 characters."))
    scenario_id = out["scenario_id"]
    if (
        scenario_id is not None
        and not Scenario.objects.filter(workspace=workspace, pk=scenario_id).exists()
    ):
        problems.add("scenario_id", _("No such scenario in this workspace."))
    days = out["open_days"] or []
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days
    ):
        problems.add("open_days", _("Weekdays are 0 (Monday) to 6 (Sunday)."))
        days = []
    out["open_days"] = sorted(set(days))
    out["opens_at"] = _time(out["opens_at"], "opens_at", problems)
    out["closes_at"] = _time(out["closes_at"], "closes_at", problems)
    if kind == RuleKind.AWAY:
        for key in ("opens_at", "closes_at"):
            if out[key] is None and not any(p == key for p, _m in problems.found):
                problems.add(key, _("Give the business hours."))
        if out["opens_at"] is not None and out["opens_at"] == out["closes_at"]:
            problems.add("closes_at", _("Closing time must differ from opening time."))
    else:
        out["open_days"], out["opens_at"], out["closes_at"] = [], None, None
    _check_messages(out, problems)
    if problems.found:
        raise RuleError(problems.found)
    return out


def _check_messages(out: dict[str, Any], problems: _Problems) -> None:
    messages = out["messages"]
    if not isinstance(messages, list) or not messages:
        problems.add("messages", _("Add at least one message."))
        return
    # The link invitation is one more message in the same reply, and LINE takes five at most.
    room = MAX_MESSAGES - (1 if out["invite_unlinked"] else 0)
    if len(messages) > room:
        problems.add(
            "messages",
            _("At most %(n)d messages (LINE sends five per reply; the invitation is one).")
            % {"n": room}
            if out["invite_unlinked"]
            else _("At most five messages (LINE's limit per reply)."),
        )
        return
    untyped = [
        i for i, m in enumerate(messages) if not isinstance(m, dict) or not _typed(m.get("type"))
    ]
    for index in untyped:
        # The message validator needs a type to pick LINE's model; say so on the field.
        problems.add(f"messages[{index}].type", _('A message object needs a "type" such as "text"'))
    if untyped:
        return
    found = message_problems(messages)
    for problem in found:
        problems.add(problem.path, problem.message)
    if not found:
        try:
            check_templates(messages)
        except TemplateProblem as exc:
            problems.add(exc.path, exc.message)


def _typed(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def create_rule(workspace: Workspace, data: dict[str, Any]) -> Rule:
    """A new rule, placed last (lowest priority)."""
    fields = clean(workspace, data)
    with transaction.atomic():
        top = Rule.objects.filter(workspace=workspace).aggregate(m=Max("priority"))["m"]
        return Rule.objects.create(workspace=workspace, priority=(top or 0) + 1, **fields)


def update_rule(rule: Rule, changes: dict[str, Any]) -> Rule:
    """Change some fields; the whole rule is checked again (its kind included)."""
    current = {key: getattr(rule, key) for key in FIELDS}
    fields = clean(rule.workspace, {**current, **changes})
    for key, value in fields.items():
        setattr(rule, key, value)
    rule.save()
    return rule


def set_enabled(rule: Rule, enabled: bool) -> Rule:
    rule.enabled = enabled
    rule.save(update_fields=["enabled", "updated_at"])
    return rule


def delete_rule(rule: Rule) -> None:
    rule.delete()


def reorder(workspace: Workspace, rule_ids: list[int]) -> list[Rule]:
    """Give the listed rules priorities 1, 2, 3 … in that order; the workspace's other rules
    keep their relative order after them. Raises RuleError for an ID not of the workspace."""
    with transaction.atomic():
        rules = {r.pk: r for r in Rule.objects.select_for_update().filter(workspace=workspace)}
        unknown = [i for i in rule_ids if i not in rules]
        if unknown or len(set(rule_ids)) != len(rule_ids):
            raise RuleError([("ids", _("Give each of the workspace's rule IDs once."))])
        rest = [r.pk for r in sorted(rules.values(), key=lambda r: (r.priority, r.pk))]
        order = [*rule_ids, *(i for i in rest if i not in rule_ids)]
        for position, pk in enumerate(order, start=1):
            if rules[pk].priority != position:
                rules[pk].priority = position
                rules[pk].save(update_fields=["priority", "updated_at"])
    return [rules[pk] for pk in order]


def move(rule: Rule, step: int) -> list[Rule]:
    """Move a rule one place up (step -1) or down (+1) in the workspace's order."""
    ids = list(
        Rule.objects.filter(workspace=rule.workspace).in_order().values_list("pk", flat=True)
    )
    at = ids.index(rule.pk)
    to = min(max(at + step, 0), len(ids) - 1)
    ids.insert(to, ids.pop(at))
    return reorder(rule.workspace, ids)
