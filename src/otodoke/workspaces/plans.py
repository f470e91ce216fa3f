"""LINE Official Account plans (Japan, current since June 2023) and the cost of a send."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class Plan(models.TextChoices):
    COMMUNICATION = "communication", _("Communication plan")
    LIGHT = "light", _("Light plan")
    STANDARD = "standard", _("Standard plan")


@dataclass(frozen=True)
class PlanTerms:
    monthly_fee_yen: int
    free_messages: int
    # None: the plan cannot send beyond its free messages at all.
    extra_message_yen: int | None


PLAN_TERMS: dict[Plan, PlanTerms] = {
    Plan.COMMUNICATION: PlanTerms(monthly_fee_yen=0, free_messages=200, extra_message_yen=None),
    Plan.LIGHT: PlanTerms(monthly_fee_yen=5_000, free_messages=5_000, extra_message_yen=None),
    # LINE publishes "up to ¥3" per extra message with volume discounts it does not list, so
    # estimates use ¥3: an upper bound, never an underestimate.
    Plan.STANDARD: PlanTerms(monthly_fee_yen=15_000, free_messages=30_000, extra_message_yen=3),
}


@dataclass(frozen=True)
class CostEstimate:
    messages: int
    free_remaining_before: int
    free_used: int
    extra_messages: int
    extra_cost_yen: int
    allowed_by_plan: bool


def estimate_cost(plan: str, *, already_sent_this_month: int, messages: int) -> CostEstimate:
    """Cost of sending `messages` more this month (one message = one recipient per request)."""
    terms = PLAN_TERMS[Plan(plan)]
    free_remaining = max(terms.free_messages - already_sent_this_month, 0)
    free_used = min(free_remaining, messages)
    extra = messages - free_used
    price = terms.extra_message_yen
    return CostEstimate(
        messages=messages,
        free_remaining_before=free_remaining,
        free_used=free_used,
        extra_messages=extra,
        extra_cost_yen=extra * (price or 0),
        allowed_by_plan=extra == 0 or price is not None,
    )


@dataclass(frozen=True)
class MonthAllowance:
    """How many more messages can go out this month, and who says so.

    LINE's own cap (`GET /v2/bot/message/quota`) binds every plan; a plan without paid
    messages (Communication, Light) also stops at its free messages even when LINE's answer
    gives no cap (`type: "none"`, or `limited` without `value`), so the estimate, the send's
    pre-check and the paused page all use the smaller of the two."""

    remaining: int | None
    # "line": LINE's cap is the smaller; "plan": the plan's free messages are; "": no cap.
    source: str


def month_allowance(plan: str, *, used: int, line_remaining: int | None) -> MonthAllowance:
    terms = PLAN_TERMS[Plan(plan)]
    plan_remaining = max(terms.free_messages - used, 0) if terms.extra_message_yen is None else None
    if line_remaining is None and plan_remaining is None:
        return MonthAllowance(None, "")
    if plan_remaining is None or (line_remaining is not None and line_remaining <= plan_remaining):
        return MonthAllowance(line_remaining, "line")
    return MonthAllowance(plan_remaining, "plan")
