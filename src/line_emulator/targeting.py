"""Narrowcast targeting: the recipient object and the demographic filter.

Pure functions (no HTTP, no emulator state) so the rules can be read and tested on their own.
`narrowcast.py` resolves audiences and redelivery IDs to user-ID sets and hands them in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_AUDIENCE_OBJECTS = 10
MAX_DEMOGRAPHIC_OBJECTS = 10

GENDERS = frozenset({"male", "female"})
APP_TYPES = frozenset({"ios", "android"})
AGES = tuple(f"age_{n}" for n in range(15, 75, 5))
PERIODS = ("day_7", "day_30", "day_90", "day_180", "day_365")
# JIS prefecture order for Japan, plus Taiwan, Thailand and (spec only) Indonesia.
AREAS = frozenset(
    [f"jp_{n:02d}" for n in range(1, 48)]
    + [f"tw_{n:02d}" for n in range(1, 23)]
    + [f"th_{n:02d}" for n in range(1, 9)]
    + [f"id_{n:02d}" for n in range(1, 13)]
)
REQUEST_ID_RE = re.compile(r"^[0-9a-fA-F-]{8,64}$")


@dataclass(frozen=True)
class Demographics:
    """LINE's estimated attributes of one friend; None means LINE does not know it."""

    gender: str | None
    age: int | None
    app_type: str | None
    area: str | None
    followed_at: datetime


@dataclass
class Problem:
    """One `details[]` entry of a 400 body."""

    message: str
    property: str


class Problems(list[Problem]):
    def add(self, message: str, prop: str) -> None:
        self.append(Problem(message, prop))


# ---------------------------------------------------------------- recipient object


def validate_recipient(node: Any, path: str, problems: Problems) -> int:
    """Check a recipient object; return how many audience+redelivery leaves it holds."""
    if not isinstance(node, dict):
        problems.add("Must be an object", path)
        return 0
    kind = node.get("type")
    if kind == "audience":
        if not isinstance(node.get("audienceGroupId"), int) or isinstance(
            node.get("audienceGroupId"), bool
        ):
            problems.add("Must be a number", f"{path}.audienceGroupId")
        return 1
    if kind == "redelivery":
        if not isinstance(node.get("requestId"), str) or not node["requestId"]:
            problems.add("May not be empty", f"{path}.requestId")
        return 1
    if kind == "operator":
        return _validate_operator(node, path, problems, validate_recipient)
    problems.add("Must be one of the following values: [audience, redelivery, operator]", path)
    return 0


def _validate_operator(
    node: dict[str, Any],
    path: str,
    problems: Problems,
    child: Callable[[Any, str, Problems], int],
) -> int:
    keys = [k for k in ("and", "or", "not") if k in node]
    if len(keys) != 1:
        problems.add("Exactly one of and, or, not must be specified", path)
        return 0
    key = keys[0]
    if key == "not":
        return child(node["not"], f"{path}.not", problems)
    items = node[key]
    if not isinstance(items, list) or not items:
        # LINE rejects empty and/or arrays rather than treating them as "everyone" or "nobody".
        problems.add("Size must be between 1 and 2147483647", f"{path}.{key}")
        return 0
    return sum(child(item, f"{path}.{key}[{i}]", problems) for i, item in enumerate(items))


def referenced_audiences(node: Any) -> list[int]:
    """Audience group IDs named anywhere in a (validated) recipient object."""
    return [leaf["audienceGroupId"] for leaf in _leaves(node, "audience")]


def referenced_requests(node: Any) -> list[str]:
    """Redelivery request IDs named anywhere in a (validated) recipient object."""
    return [leaf["requestId"] for leaf in _leaves(node, "redelivery")]


def _leaves(node: Any, kind: str) -> Iterable[dict[str, Any]]:
    if node.get("type") == kind:
        yield node
    elif node.get("type") == "operator":
        for key in ("and", "or"):
            for item in node.get(key, []):
                yield from _leaves(item, kind)
        if "not" in node:
            yield from _leaves(node["not"], kind)


def evaluate_recipient(
    node: Any,
    universe: frozenset[str],
    audiences: Mapping[int, frozenset[str]],
    requests: Mapping[str, frozenset[str]],
) -> frozenset[str]:
    """The user IDs a recipient object selects; `not` is relative to all friends."""
    kind = node["type"]
    if kind == "audience":
        return audiences[node["audienceGroupId"]] & universe
    if kind == "redelivery":
        return requests[node["requestId"]] & universe
    if "not" in node:
        return universe - evaluate_recipient(node["not"], universe, audiences, requests)
    parts = [evaluate_recipient(n, universe, audiences, requests) for n in node.get("and", [])]
    if parts:
        return frozenset.intersection(*parts)
    parts = [evaluate_recipient(n, universe, audiences, requests) for n in node["or"]]
    return frozenset().union(*parts)


# ---------------------------------------------------------------- demographic filter


def validate_demographic(node: Any, path: str, problems: Problems) -> int:
    """Check a demographic filter; return how many non-operator objects it holds."""
    if not isinstance(node, dict):
        problems.add("Must be an object", path)
        return 0
    kind = node.get("type")
    if kind == "operator":
        return _validate_operator(node, path, problems, validate_demographic)
    if kind in ("gender", "appType", "area"):
        allowed = {"gender": GENDERS, "appType": APP_TYPES, "area": AREAS}[kind]
        values = node.get("oneOf")
        if not isinstance(values, list) or not values:
            problems.add("May not be empty", f"{path}.oneOf")
        elif any(v not in allowed for v in values):
            problems.add(f"Must be one of the following values: {sorted(allowed)}", f"{path}.oneOf")
        return 1
    if kind in ("age", "subscriptionPeriod"):
        order = AGES if kind == "age" else PERIODS
        gte, lt = node.get("gte"), node.get("lt")
        if gte is None and lt is None:
            problems.add("Either gte or lt must be specified", path)
        for key, value in (("gte", gte), ("lt", lt)):
            if value is not None and value not in order:
                problems.add(f"Must be one of the following values: {list(order)}", f"{path}.{key}")
        if gte in order and lt in order and order.index(gte) >= order.index(lt):
            problems.add("gte must be less than lt", path)
        return 1
    problems.add(
        "Must be one of the following values: "
        "[gender, age, appType, area, subscriptionPeriod, operator]",
        f"{path}.type",
    )
    return 0


def matches_demographic(node: Any, who: Demographics, now: datetime) -> bool:
    """Whether one friend passes a (validated) filter.

    An attribute LINE does not know never satisfies a leaf, so `not` of a leaf includes the
    unknowns; the docs leave this open and this is the conservative reading.
    """
    kind = node["type"]
    if kind == "operator":
        if "not" in node:
            return not matches_demographic(node["not"], who, now)
        if "and" in node:
            return all(matches_demographic(n, who, now) for n in node["and"])
        return any(matches_demographic(n, who, now) for n in node["or"])
    if kind == "gender":
        return who.gender in node["oneOf"]
    if kind == "appType":
        return who.app_type in node["oneOf"]
    if kind == "area":
        return who.area in node["oneOf"]
    if kind == "age":
        return who.age is not None and _in_range(who.age, node, "age_")
    days = (now - who.followed_at).days
    return _in_range(days, node, "day_")


def _in_range(value: int, node: Mapping[str, Any], prefix: str) -> bool:
    gte, lt = node.get("gte"), node.get("lt")
    if gte is not None and value < int(gte.removeprefix(prefix)):
        return False
    return not (lt is not None and value >= int(lt.removeprefix(prefix)))


# ---------------------------------------------------------------- limit object


def validate_limit(node: Any, problems: Problems) -> str | None:
    """Check `limit`; return a top-level 400 message for a bad combination, else None."""
    if node is None:
        return None
    if not isinstance(node, dict):
        problems.add("Must be an object", "limit")
        return None
    cap = node.get("max")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        problems.add("Must be greater than or equal to 1", "limit.max")
    for key in ("upToRemainingQuota", "forbidPartialDelivery"):
        if key in node and not isinstance(node[key], bool):
            problems.add("Must be a boolean", f"limit.{key}")
    if node.get("forbidPartialDelivery") and not node.get("upToRemainingQuota"):
        return "The option forbidPartialDelivery must be used with upToRemainingQuota."
    return None


def reservation(target_reach: int, limit: Mapping[str, Any] | None, remaining: int | None) -> int:
    """Quota LINE holds back for a narrowcast: the target reach, capped per the limit table.

    `remaining` is None for an unlimited plan.
    """
    size = target_reach
    if limit:
        if limit.get("max") is not None:
            size = min(size, int(limit["max"]))
        if limit.get("upToRemainingQuota") and remaining is not None:
            size = min(size, remaining)
    return size
