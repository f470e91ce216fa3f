"""Entering scenarios: `enrol` (set-based, for any trigger) and one small function per
event-driven trigger kind, called by `hooks` when the thing happens.

Who enters: contacts of the workspace who match the version's conditions (a segment
definition, evaluated at that moment), can be reached on LINE (a following friend with
marketing consent), are not inside the scenario already, and pass the entry rule:
`once` (never entered before), `after_days` (last entered at least N days ago), `every`
(any time they are not inside). A trigger for a contact already inside is ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F, Max, Q

from otodoke.contacts.models import Contact, LineStatus
from otodoke.scenarios import schema
from otodoke.scenarios.models import (
    Enrolment,
    EnrolmentStatus,
    EntryRule,
    ScenarioStatus,
    ScenarioVersion,
)
from otodoke.segments.compiler import compile_definition
from otodoke.segments.schema import parse_definition
from otodoke.workspaces.models import Workspace

CHUNK = 900  # below SQLite's variable limit


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def reachable() -> Q:
    return Q(
        line_user_id__isnull=False,
        line_status=LineStatus.FOLLOWING,
        marketing_consent=True,
    )


def active_versions(workspace: Workspace, kind: str) -> list[ScenarioVersion]:
    """The current versions of the workspace's active scenarios with this trigger kind."""
    return list(
        ScenarioVersion.objects.filter(
            scenario__workspace=workspace,
            scenario__status=ScenarioStatus.ACTIVE,
            scenario__current_version=F("pk"),
            trigger__kind=kind,
        ).select_related("scenario")
    )


def enrol(
    workspace: Workspace,
    scenario_version: ScenarioVersion,
    contact_ids: Iterable[int],
    *,
    now: dt.datetime,
    source: str,
) -> int:
    """Enter the given contacts into the version's scenario, set-based; returns how many
    entered. Safe under races: the one-active-enrolment constraint drops a second entry."""
    version = scenario_version
    scenario = version.scenario
    if scenario.status != ScenarioStatus.ACTIVE or scenario.workspace_id != workspace.pk:
        return 0
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    condition = Q()
    if version.conditions:
        condition = compile_definition(workspace, parse_definition(version.conditions), now=now)
    entered = 0
    for chunk in _chunks(ids):
        candidates = list(
            Contact.objects.filter(workspace=workspace, pk__in=chunk)
            .filter(reachable())
            .filter(condition)
            .values_list("pk", flat=True)
        )
        if not candidates:
            continue
        with transaction.atomic():
            history = (
                Enrolment.objects.filter(scenario=scenario, contact_id__in=candidates)
                .values("contact_id")
                .annotate(last_run=Max("run"), last_entry=Max("entered_at"))
                .order_by()
            )
            past = {row["contact_id"]: row for row in history}
            inside = set(
                Enrolment.objects.filter(
                    scenario=scenario, contact_id__in=candidates, status=EnrolmentStatus.ACTIVE
                ).values_list("contact_id", flat=True)
            )
            rows = []
            for cid in candidates:
                if cid in inside:
                    continue
                before = past.get(cid)
                if before is not None:
                    if version.entry_rule == EntryRule.ONCE:
                        continue
                    if version.entry_rule == EntryRule.AFTER_DAYS:
                        gap = dt.timedelta(days=version.reentry_days or 0)
                        if before["last_entry"] > now - gap:
                            continue
                rows.append(
                    Enrolment(
                        scenario=scenario,
                        version=version,
                        contact_id=cid,
                        run=(before["last_run"] + 1) if before else 1,
                        status=EnrolmentStatus.ACTIVE,
                        step_index=0,
                        next_due_at=now,
                        entered_at=now,
                        source=source[:40],
                    )
                )
            if not rows:
                continue
            Enrolment.objects.bulk_create(rows, ignore_conflicts=True)
            entered += Enrolment.objects.filter(
                scenario=scenario,
                contact_id__in=[r.contact_id for r in rows],
                entered_at=now,
                run__in={r.run for r in rows},
                status=EnrolmentStatus.ACTIVE,
            ).count()
    if entered:
        from otodoke.scenarios.tasks import kick

        kick(workspace.pk)
    return entered


def enrol_matching(
    workspace: Workspace,
    kind: str,
    contact_ids: Iterable[int],
    *,
    now: dt.datetime,
    source: str,
    accept: Any = None,
) -> int:
    """Enrol the contacts into every active scenario with trigger `kind` whose params
    `accept(params)` (all, when None)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return 0
    total = 0
    for version in active_versions(workspace, kind):
        params = schema.Trigger.model_validate(version.trigger).parsed()
        if accept is not None and not accept(params):
            continue
        total += enrol(workspace, version, ids, now=now, source=source)
    return total


# --- the event-driven kinds ------------------------------------------------------------------


def on_follow(
    workspace: Workspace, contact_ids: Iterable[int], *, now: dt.datetime, refollow: bool
) -> int:
    """A follow: a new friend, or (`refollow`) one who unblocked the account."""
    return enrol_matching(
        workspace,
        "friend_added",
        contact_ids,
        now=now,
        source="refollow" if refollow else "follow",
        accept=lambda p: p.include_refollow or not refollow,
    )


def on_linked(workspace: Workspace, contact_ids: Iterable[int], *, now: dt.datetime) -> int:
    return enrol_matching(workspace, "contact_linked", contact_ids, now=now, source="linked")


def on_tags_added(
    workspace: Workspace, pairs: Iterable[tuple[int, str]], *, now: dt.datetime
) -> int:
    """Newly added (contact, tag name) pairs."""
    by_tag: dict[str, set[int]] = {}
    for contact_id, name in pairs:
        by_tag.setdefault(name, set()).add(contact_id)
    total = 0
    for version in active_versions(workspace, "tag_added"):
        params = schema.Trigger.model_validate(version.trigger).parsed()
        ids = by_tag.get(params.tag)
        if ids:
            total += enrol(workspace, version, ids, now=now, source=f"tag:{params.tag}")
    return total


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


def property_matches(test: Any, amount: int | None, source: str, properties: Any) -> bool:
    """One `where` test on an event in hand, with the segment compiler's meaning."""
    from otodoke.segments.schema import EVENT_COLUMNS

    if test.key in EVENT_COLUMNS:
        value = {"amount": amount, "source": source}.get(test.key)
        present = value is not None
    else:
        props = properties if isinstance(properties, dict) else {}
        present, value = test.key in props, props.get(test.key)
    if test.op == "exists":
        return present
    if not present or value is None:
        return False
    if test.op == "equals":
        return _same(value, test.value)
    if test.op == "in":
        return any(_same(value, v) for v in test.value)
    if test.op == "contains":
        return isinstance(value, str) and str(test.value).lower() in value.lower()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return bool(value >= test.value if test.op == "gte" else value <= test.value)


def on_events(
    workspace: Workspace,
    events: Sequence[tuple[int, str, int | None, str, Any]],
    *,
    now: dt.datetime,
) -> int:
    """New events as (contact ID, kind, amount, source, properties)."""
    total = 0
    for version in active_versions(workspace, "event"):
        params = schema.Trigger.model_validate(version.trigger).parsed()
        ids = {
            contact_id
            for contact_id, kind, amount, source, properties in events
            if kind == params.event
            and all(property_matches(t, amount, source, properties) for t in params.where)
        }
        if ids:
            total += enrol(workspace, version, ids, now=now, source=f"event:{params.event}")
    return total


def on_click(
    workspace: Workspace,
    contact_id: int,
    *,
    link_id: int,
    campaign_id: int | None,
    now: dt.datetime,
) -> int:
    return enrol_matching(
        workspace,
        "link_clicked",
        [contact_id],
        now=now,
        source=f"click:{link_id}",
        accept=lambda p: (
            (p.link_id is None or p.link_id == link_id)
            and (p.campaign_id is None or p.campaign_id == campaign_id)
        ),
    )


def keyword_matches(params: schema.KeywordReceived, text: str) -> bool:
    said = text.strip().casefold()
    words = [k.strip().casefold() for k in params.keywords]
    if params.match == "exact":
        return said in words
    return any(w and w in said for w in words)


def on_message(workspace: Workspace, contact_id: int, text: str, *, now: dt.datetime) -> int:
    return enrol_matching(
        workspace,
        "keyword",
        [contact_id],
        now=now,
        source="keyword",
        accept=lambda p: keyword_matches(p, text),
    )


def postback_matches(params: schema.PostbackReceived, data: str) -> bool:
    from urllib.parse import parse_qsl

    if params.data is not None and data == params.data:
        return True
    if params.key is not None:
        pairs = parse_qsl(data, keep_blank_values=True)
        return any(
            k == params.key and (params.value is None or v == params.value) for k, v in pairs
        )
    return False


def on_postback(workspace: Workspace, contact_id: int, data: str, *, now: dt.datetime) -> int:
    return enrol_matching(
        workspace,
        "postback",
        [contact_id],
        now=now,
        source="postback",
        accept=lambda p: postback_matches(p, data),
    )


def start_scenario(
    workspace: Workspace,
    scenario_id: int,
    contact_ids: Iterable[int],
    *,
    now: dt.datetime,
    source: str,
) -> int:
    """Enter contacts into one named scenario's current version, whatever its trigger kind
    (an auto-reply rule that starts a scenario); the usual conditions and entry rule apply.
    Returns how many entered (0 for a scenario that is not active or not the workspace's)."""
    version = (
        ScenarioVersion.objects.filter(
            scenario_id=scenario_id,
            scenario__workspace=workspace,
            scenario__status=ScenarioStatus.ACTIVE,
            scenario__current_version=F("pk"),
        )
        .select_related("scenario")
        .first()
    )
    if version is None:
        return 0
    return enrol(workspace, version, contact_ids, now=now, source=source)
