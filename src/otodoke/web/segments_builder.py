"""The segment builder's form state: a definition as plain JSON, edited one round trip at a time.

The browser holds the definition in a hidden field. Each condition is rendered with inputs named
after its JSON path (`f:$.where.conditions[1]:min`), so a post carries the previous definition
plus the edits; this module folds the edits into the JSON, applies the clicked action (add,
remove, negate…) and hands the result to the segments service for validation. The state stays a
dict, not a parsed SegmentDefinition, because half-filled conditions must survive a round trip
so the schema can say what is missing *at its path*.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otodoke.segments.schema import SCHEMA_VERSION, Problem

Node = dict[str, Any]
ROOT = "$.where"
GROUPS = ("all", "any")

# What the "add a condition" menu offers, grouped as a shop thinks of its customers.
KIND_MENU: list[tuple[Promise, list[tuple[str, Promise]]]] = [
    (
        gettext_lazy("Customer"),
        [
            ("gender", gettext_lazy("Gender")),
            ("age", gettext_lazy("Age")),
            ("birth_month", gettext_lazy("Birth month")),
            ("birthday", gettext_lazy("Birthday")),
            ("prefecture", gettext_lazy("Prefecture")),
            ("attribute", gettext_lazy("Custom attribute")),
            ("consent", gettext_lazy("Marketing consent")),
            ("has_email", gettext_lazy("Has an e-mail address")),
            ("has_phone", gettext_lazy("Has a phone number")),
            ("has_customer_number", gettext_lazy("Has a customer number")),
        ],
    ),
    (
        gettext_lazy("Visits and purchases"),
        [
            ("last_visit", gettext_lazy("Last visit")),
            ("first_visit", gettext_lazy("First visit")),
            ("last_purchase", gettext_lazy("Last purchase")),
            ("visit_count", gettext_lazy("Number of visits")),
            ("purchase_count", gettext_lazy("Number of purchases")),
            ("total_spent", gettext_lazy("Total spent")),
            ("event", gettext_lazy("Events (e.g. purchases of a category)")),
        ],
    ),
    (gettext_lazy("Tags"), [("tags", gettext_lazy("Tags"))]),
    (
        gettext_lazy("LINE"),
        [
            ("line_status", gettext_lazy("LINE friend status")),
            ("line_linked", gettext_lazy("Linked to LINE")),
            ("friend_for", gettext_lazy("LINE friend for")),
            ("clicked", gettext_lazy("Clicked a link")),
        ],
    ),
    (
        gettext_lazy("Lists"),
        [
            ("in_segment", gettext_lazy("In another segment")),
            ("in_audience", gettext_lazy("In an audience")),
        ],
    ),
    (
        gettext_lazy("Groups"),
        [("all", gettext_lazy("Group: all of")), ("any", gettext_lazy("Group: any of"))],
    ),
]
KIND_LABELS: dict[str, Promise] = {k: label for _g, kinds in KIND_MENU for k, label in kinds}
KIND_LABELS["not"] = gettext_lazy("Not")


def empty_definition() -> Node:
    return {"version": SCHEMA_VERSION, "where": {"kind": "all", "conditions": []}}


def new_condition(kind: str, *, today: dt.date) -> Node:
    """A new condition with sensible starting values, so most kinds count at once; the rest
    (tags, attribute) show what is missing right away."""
    defaults: dict[str, Node] = {
        "gender": {"values": ["female"]},
        "age": {"min": 30, "max": 39},
        "birth_month": {"months": [today.month]},
        "birthday": {"when": "this_month"},
        "prefecture": {"values": ["東京都"]},
        "attribute": {"key": "", "op": "equals", "value": ""},
        "consent": {"value": True},
        "has_email": {"value": True},
        "has_phone": {"value": True},
        "has_customer_number": {"value": True},
        "last_visit": {"op": "on_or_after", "days_ago": 30},
        "first_visit": {"op": "on_or_after", "days_ago": 30},
        "last_purchase": {"op": "on_or_after", "days_ago": 30},
        "visit_count": {"min": 2},
        "purchase_count": {"min": 2},
        "total_spent": {"min": 10000},
        "tags": {"match": "any", "names": []},
        "event": {"event": "purchase", "where": [], "within_days": 90, "op": "at_least"},
        "line_status": {"values": ["following"]},
        "line_linked": {"value": True},
        "friend_for": {"at_least_days": 30},
        "in_segment": {},
        "in_audience": {},
        "clicked": {"within_days": 30},
        "all": {"conditions": []},
        "any": {"conditions": []},
    }
    if kind not in defaults:
        raise ValueError(kind)
    return {"kind": kind, **copy.deepcopy(defaults[kind])}


# --- paths --------------------------------------------------------------------------------

_STEP = re.compile(r"\.([A-Za-z_]+)|\[(\d+)\]")


def steps(path: str) -> list[str | int]:
    """`$.where.conditions[1]` → ["where", "conditions", 1]; anything else is refused."""
    if not path.startswith("$"):
        raise KeyError(path)
    rest, found = path[1:], []
    while rest:
        match = _STEP.match(rest)
        if not match:
            raise KeyError(path)
        found.append(match.group(1) if match.group(1) else int(match.group(2)))
        rest = rest[match.end() :]
    return found


def lookup(state: Any, path: str) -> Any:
    current = state
    for step in steps(path):
        current = current[step]
    return current


def walk(node: Any, path: str = ROOT) -> Iterator[tuple[str, Node]]:
    """Every condition dict with its path, depth first."""
    if not isinstance(node, dict):
        return
    yield path, node
    if isinstance(node.get("conditions"), list):
        for i, child in enumerate(node["conditions"]):
            yield from walk(child, f"{path}.conditions[{i}]")
    elif "condition" in node:
        yield from walk(node["condition"], f"{path}.condition")


# --- reading the posted inputs ------------------------------------------------------------


def _number(raw: str | None) -> int | float | str | None:
    """ "" → None (the key is dropped); numbers → numbers; anything else is kept as text so the
    schema names the path and the problem instead of the builder guessing."""
    text = (raw or "").strip().replace(",", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _text(raw: str | None) -> str | None:
    text = (raw or "").strip()
    return text or None


def _names(raw: str | None) -> list[str]:
    # Japanese lists are written with 、 as often as with a comma.
    return [n.strip() for n in re.split(r"[,、，\n]", raw or "") if n.strip()]


def _put(node: Node, key: str, value: Any) -> None:
    if value is None or value == []:
        node.pop(key, None)
    else:
        node[key] = value


def _filter_value(op: str, raw: str | None) -> Any:
    if op == "exists":
        return None
    if op == "in":
        return [_coerce(v) for v in _names(raw)]
    if op in {"gte", "lte"}:
        return _number(raw)
    return (raw or "").strip()


def _coerce(text: str) -> Any:
    value = _number(text)
    return value if isinstance(value, int | float) and str(value) == text else text


def _fold(node: Node, path: str, post: QueryDict) -> None:
    """Fold one condition's posted inputs into it. Only conditions that were on the page (their
    marker input is present) are touched: an unchecked box is then a real "none"."""

    def get(name: str) -> str | None:
        return post.get(f"f:{path}:{name}")

    def many(name: str) -> list[str]:
        return post.getlist(f"f:{path}:{name}")

    kind = node.get("kind")
    if kind in GROUPS and get("kind") in GROUPS:
        node["kind"] = get("kind")
    elif kind in {"gender", "prefecture", "line_status"}:
        node["values"] = many("values")
    elif kind == "birth_month":
        node["months"] = [_number(m) for m in many("months")]
    elif kind in {"age", "visit_count", "purchase_count", "total_spent"}:
        _put(node, "min", _number(get("min")))
        _put(node, "max", _number(get("max")))
    elif kind == "birthday":
        node["when"] = get("when")
    elif kind == "attribute":
        node["key"] = (get("key") or "").strip()
        node["op"] = get("op")
        node["value"] = None if node["op"] == "exists" else (get("value") or "").strip()
        _put(node, "value", node["value"])
    elif kind in {"consent", "has_email", "has_phone", "has_customer_number", "line_linked"}:
        node["value"] = get("value") != "false"
    elif kind in {"last_visit", "first_visit", "last_purchase"}:
        node["op"] = get("op")
        never = node["op"] == "never"
        _put(node, "days_ago", None if never else _number(get("days_ago")))
        _put(node, "date", None if never else _text(get("date")))
    elif kind == "tags":
        node["match"] = get("match")
        node["names"] = _names(get("names"))
        _put(node, "added_within_days", _number(get("added_within_days")))
    elif kind == "event":
        _fold_event(node, get)
    elif kind == "friend_for":
        _put(node, "at_least_days", _number(get("at_least_days")))
        _put(node, "at_most_days", _number(get("at_most_days")))
    elif kind in {"in_segment", "in_audience"}:
        key = "segment_id" if kind == "in_segment" else "audience_id"
        _put(node, key, _number(get(key)))
    elif kind == "clicked":
        _put(node, "link_id", _number(get("link_id")))
        _put(node, "campaign_id", _number(get("campaign_id")))
        _put(node, "within_days", _number(get("within_days")))


def _fold_event(node: Node, get: Any) -> None:
    node["event"] = (get("event") or "").strip()
    node["measure"] = get("measure") or "count"
    node["op"] = get("op") or "at_least"
    node["value"] = _number(get("value"))
    _put(node, "value", node["value"])
    _put(node, "within_days", _number(get("within_days")))
    _put(node, "since", _text(get("since")))
    _put(node, "until", _text(get("until")))
    for i, prop in enumerate(node.get("where") or []):
        if isinstance(prop, dict):
            prop["key"] = (get(f"where[{i}].key") or "").strip()
            prop["op"] = get(f"where[{i}].op") or "equals"
            _put(prop, "value", _filter_value(prop["op"], get(f"where[{i}].value")))


# --- actions ------------------------------------------------------------------------------


def _remove(state: Node, path: str) -> None:
    parts = steps(path)
    if parts == ["where"]:
        state["where"] = empty_definition()["where"]
        return
    parent = lookup(state, "$" + "".join(_fmt(p) for p in parts[:-2]))
    if parts[-2] == "conditions" and isinstance(parts[-1], int):
        del parent["conditions"][parts[-1]]
    elif parts[-1] == "condition":
        # Removing the inside of a "not" removes the "not" with it.
        _remove(state, "$" + "".join(_fmt(p) for p in parts[:-1]))


def _fmt(step: str | int) -> str:
    return f"[{step}]" if isinstance(step, int) else f".{step}"


def _replace(state: Node, path: str, value: Node) -> None:
    parts = steps(path)
    parent = lookup(state, "$" + "".join(_fmt(p) for p in parts[:-1]))
    parent[parts[-1]] = value


def _toggle_not(state: Node, path: str) -> None:
    node = lookup(state, path)
    if node.get("kind") == "not" and isinstance(node.get("condition"), dict):
        _replace(state, path, node["condition"])
    else:
        _replace(state, path, {"kind": "not", "condition": node})


@dataclass
class Edit:
    """The outcome of one round trip: the new state, and a problem when the JSON typed into
    the advanced editor could not even be read."""

    state: Node
    json_problem: Problem | None = None
    raw_json: str = ""


def _load(text: str) -> Node | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def apply_post(post: QueryDict, *, today: dt.date) -> Edit:
    """The hidden definition, plus the edits, plus the clicked action."""
    action = post.get("action", "")
    if action == "json":
        raw = post.get("json", "")
        loaded = _load(raw)
        if loaded is None:
            problem = Problem("$", _("This is not a JSON object; nothing was changed."))
            fallback = _load(post.get("definition", "")) or empty_definition()
            return Edit(fallback, problem, raw)
        return Edit(loaded)
    state = _load(post.get("definition", "")) or empty_definition()
    for path, node in list(walk(state.get("where"))):
        if f"n:{path}" in post:
            _fold(node, path, post)
    # A stale button (the tree changed under it) is simply not applied.
    with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
        _act(state, action, post, today)
    return Edit(state)


def _act(state: Node, action: str, post: QueryDict, today: dt.date) -> None:
    verb, _sep, path = action.partition(":")
    for key in post:
        # Choosing in an "add a condition" menu adds at once (no extra click).
        if key.startswith("add:") and (kind := post.get(key, "")):
            lookup(state, key[4:])["conditions"].append(new_condition(kind, today=today))
    if verb == "remove":
        _remove(state, path)
    elif verb == "not":
        _toggle_not(state, path)
    elif verb == "addfilter":
        lookup(state, path).setdefault("where", []).append({"key": "", "op": "equals", "value": ""})
    elif verb == "removefilter":
        node_path, _sep, index = path.rpartition(":")
        del lookup(state, node_path)["where"][int(index)]


# --- rendering ----------------------------------------------------------------------------


@dataclass
class NodeView:
    path: str
    data: Node
    kind: str
    label: str
    errors: list[str] = field(default_factory=list)
    children: list[NodeView] = field(default_factory=list)
    depth: int = 0

    @property
    def is_group(self) -> bool:
        return self.kind in GROUPS

    @property
    def input_id(self) -> str:
        return "c" + re.sub(r"\W+", "-", self.path)

    @property
    def names_text(self) -> str:
        return ", ".join(str(n) for n in self.data.get("names") or [])

    @property
    def filters(self) -> list[tuple[int, Node, str]]:
        rows = []
        for i, prop in enumerate(self.data.get("where") or []):
            value = prop.get("value") if isinstance(prop, dict) else None
            shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value
            rows.append((i, prop, "" if shown is None else str(shown)))
        return rows


def _owner(problem_path: str, node_paths: list[str]) -> str | None:
    """The deepest condition whose path the problem's path starts with."""
    best = None
    for path in node_paths:
        rest = problem_path[len(path) :]
        if (
            problem_path.startswith(path)
            and (not rest or rest[0] in ".[")
            and (best is None or len(path) > len(best))
        ):
            best = path
    return best


def build_view(state: Node, problems: list[Problem]) -> tuple[NodeView | None, list[str]]:
    """The tree to render, each problem placed next to its condition; problems that belong to
    no condition (the version, unreadable JSON) come back separately for the top."""
    nodes = dict(walk(state.get("where")))
    placed: dict[str, list[str]] = {}
    loose: list[str] = []
    for problem in problems:
        owner = _owner(problem.path, list(nodes))
        if owner is None:
            loose.append(str(problem))
        else:
            # The full path, as the schema and docs/segments.md name it.
            placed.setdefault(owner, []).append(str(problem))

    def view(path: str, node: Node, depth: int) -> NodeView:
        kind = str(node.get("kind", ""))
        result = NodeView(
            path, node, kind, str(KIND_LABELS.get(kind, kind)), placed.get(path, []), depth=depth
        )
        if kind in GROUPS and isinstance(node.get("conditions"), list):
            result.children = [
                view(f"{path}.conditions[{i}]", c, depth + 1)
                for i, c in enumerate(node["conditions"])
                if isinstance(c, dict)
            ]
        elif kind == "not" and isinstance(node.get("condition"), dict):
            result.children = [view(f"{path}.condition", node["condition"], depth)]
        return result

    where = state.get("where")
    return (view(ROOT, where, 0) if isinstance(where, dict) else None), loose


def dump(state: Mapping[str, Any], *, indent: int | None = None) -> str:
    return json.dumps(state, ensure_ascii=False, indent=indent)
