"""Read-only figures and pictures for the campaign pages: the LINE-like preview, the recipient
and cost estimate, the placeholder picker. Everything that decides who gets what, or checks a
message, lives in `otodoke.campaigns`, `otodoke.messaging` and `otodoke.segments`; this module
only calls them and shapes their answers for templates."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from otodoke.campaigns.models import Campaign, Delivery, DeliveryKind
from otodoke.campaigns.quota import QuotaState as Quota
from otodoke.campaigns.targets import target_conditions
from otodoke.contacts.models import Contact
from otodoke.contacts.tagging import tag_names_by_contact
from otodoke.messaging.links import URL_RE
from otodoke.messaging.personalize import (
    BusinessData,
    TemplateProblem,
    compile_messages,
    recipient_context,
)
from otodoke.messaging.validation import MessageValidationError, validate_messages
from otodoke.segments.models import Audience, Segment
from otodoke.web.line_info import month_quota
from otodoke.web.pii import mask_phone
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.plans import (
    PLAN_TERMS,
    CostEstimate,
    MonthAllowance,
    Plan,
    estimate_cost,
    month_allowance,
)

SAMPLE_CONTACTS = 20
ATTRIBUTE_SAMPLE = 500


# --- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageIssue:
    index: int | None
    path: str
    message: str


_INDEX_RE = re.compile(r"^messages\[(\d+)\]")


def message_issues(messages: list[dict[str, Any]]) -> list[MessageIssue]:
    """LINE's limits and template syntax, as the services check them, with the message index
    pulled out of the path so each problem can sit next to its message slot."""
    issues: list[MessageIssue] = []
    try:
        checked = validate_messages(messages)
        compile_messages(checked)
    except MessageValidationError as exc:
        problems = [(p.path, p.message) for p in exc.problems]
    except TemplateProblem as exc:
        problems = [(exc.path, exc.message)]
    else:
        return []
    for path, text in problems:
        match = _INDEX_RE.match(path)
        issues.append(MessageIssue(int(match.group(1)) if match else None, path, text))
    return issues


# --- the LINE-like preview --------------------------------------------------------------------


@dataclass(frozen=True)
class TextRun:
    text: str
    url: str = ""


@dataclass(frozen=True)
class CardPart:
    kind: str  # text | image | button | separator
    text: str = ""
    url: str = ""
    bold: bool = False


@dataclass(frozen=True)
class Bubble:
    kind: str  # text | image | sticker | card | other
    runs: list[TextRun] = field(default_factory=list)
    image: str = ""
    sticker: str = ""
    cards: list[list[CardPart]] = field(default_factory=list)
    label: str = ""


def _runs(text: str) -> list[TextRun]:
    """Text with its URLs as separate runs, so the preview shows them as links like LINE does."""
    runs: list[TextRun] = []
    position = 0
    for match in URL_RE.finditer(text):
        if match.start() > position:
            runs.append(TextRun(text[position : match.start()]))
        runs.append(TextRun(match.group(0), match.group(0)))
        position = match.end()
    if position < len(text):
        runs.append(TextRun(text[position:]))
    return runs


def _web_url(value: Any) -> str:
    """Only http(s) URLs become links or images in the staff's browser (never `javascript:`)."""
    text = str(value or "")
    return text if text.startswith(("https://", "http://")) else ""


def _action_part(action: Any) -> CardPart | None:
    if not isinstance(action, dict):
        return None
    label = str(action.get("label") or action.get("type") or "")
    url = _web_url(action.get("uri")) if action.get("type") == "uri" else ""
    return CardPart("button", text=label, url=url)


def _flex_parts(node: Any, out: list[CardPart]) -> None:
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "box":
        for child in node.get("contents") or []:
            _flex_parts(child, out)
    elif kind == "text":
        spans = "".join(str(s.get("text", "")) for s in node.get("contents") or [] if s)
        out.append(
            CardPart("text", text=str(node.get("text") or spans), bold=node.get("weight") == "bold")
        )
    elif kind in ("image", "icon"):
        out.append(CardPart("image", url=_web_url(node.get("url"))))
    elif kind == "button":
        part = _action_part(node.get("action"))
        if part:
            out.append(part)
    elif kind == "separator":
        out.append(CardPart("separator"))


def _flex_cards(contents: Any) -> list[list[CardPart]]:
    if not isinstance(contents, dict):
        return []
    bubbles = contents.get("contents", []) if contents.get("type") == "carousel" else [contents]
    cards = []
    for bubble in bubbles:
        parts: list[CardPart] = []
        for key in ("header", "hero", "body", "footer"):
            _flex_parts(bubble.get(key) if isinstance(bubble, dict) else None, parts)
        cards.append(parts)
    return cards


def _template_cards(template: dict[str, Any]) -> list[list[CardPart]]:
    columns = (
        template.get("columns")
        if template.get("type") in ("carousel", "image_carousel")
        else [template]
    )
    cards = []
    for column in columns or []:
        if not isinstance(column, dict):
            continue
        parts: list[CardPart] = []
        image = column.get("thumbnailImageUrl") or column.get("imageUrl")
        if image:
            parts.append(CardPart("image", url=_web_url(image)))
        if column.get("title"):
            parts.append(CardPart("text", text=str(column["title"]), bold=True))
        if column.get("text"):
            parts.append(CardPart("text", text=str(column["text"])))
        actions = column.get("actions") or ([column["action"]] if "action" in column else [])
        parts += [p for p in (_action_part(a) for a in actions) if p]
        cards.append(parts)
    return cards


def bubble_for(message: dict[str, Any]) -> Bubble:
    kind = message.get("type")
    if kind == "text":
        return Bubble("text", runs=_runs(str(message.get("text", ""))))
    if kind == "image":
        return Bubble("image", image=_web_url(message.get("previewImageUrl")))
    if kind == "imagemap":
        # LINE fetches {baseUrl}/{width}; the preview shows the 700 px one.
        base = _web_url(message.get("baseUrl"))
        return Bubble("image", image=f"{base}/700" if base else "")
    if kind == "sticker":
        return Bubble("sticker", sticker=f"{message.get('packageId')}/{message.get('stickerId')}")
    if kind == "flex":
        return Bubble(
            "card",
            cards=_flex_cards(message.get("contents")),
            label=str(message.get("altText", "")),
        )
    if kind == "template":
        return Bubble(
            "card",
            cards=_template_cards(message.get("template") or {}),
            label=str(message.get("altText", "")),
        )
    return Bubble("other", label=str(kind))


@dataclass(frozen=True)
class Preview:
    bubbles: list[Bubble]
    sample: Contact | None
    issues: list[MessageIssue]


def sample_contacts(workspace: Workspace) -> list[Contact]:
    """Contacts to preview with: reachable friends first, because they are who gets it."""
    reachable = list(
        Contact.objects.in_workspace(workspace).reachable().order_by("pk")[:SAMPLE_CONTACTS]
    )
    return reachable or list(
        Contact.objects.in_workspace(workspace).order_by("pk")[:SAMPLE_CONTACTS]
    )


def sample_context(workspace: Workspace, sample: Contact | None) -> dict[str, Any]:
    """The preview's context: the send's own, for one contact."""
    if sample is None:
        return recipient_context("", {})
    business = BusinessData(
        customer_number=sample.external_id or "",
        last_visit_at=sample.last_visit_at,
        visit_count=sample.visit_count,
        total_spent=sample.total_spent,
        tags=tuple(tag_names_by_contact([sample.pk]).get(sample.pk, ())),
    )
    return recipient_context(sample.name, sample.attributes, business, tz=workspace.tzinfo)


def preview(
    workspace: Workspace, messages: list[dict[str, Any]], sample: Contact | None
) -> Preview:
    """The messages as `sample` would see them (the engine's own renderer and context). Links
    are shown as written; the send replaces them with per-recipient tracked links."""
    issues = message_issues(messages)
    if any(i.index is None for i in issues) or not messages:
        return Preview([], sample, issues)
    context = sample_context(workspace, sample)
    try:
        rendered = compile_messages(messages).render(context)
    except TemplateProblem as exc:
        return Preview([], sample, [*issues, MessageIssue(None, exc.path, exc.message)])
    return Preview([bubble_for(m) for m in rendered if isinstance(m, dict)], sample, issues)


def placeholders(workspace: Workspace) -> list[tuple[str, str]]:
    """(label, template text) pairs for the picker: the name with a fallback, and the custom
    attribute keys found on this workspace's contacts."""
    keys: set[str] = set()
    rows = (
        Contact.objects.in_workspace(workspace)
        .exclude(attributes={})
        .values_list("attributes", flat=True)[:ATTRIBUTE_SAMPLE]
    )
    for attributes in rows:
        if isinstance(attributes, dict):
            keys.update(str(k) for k in attributes)
    fallback = _("customer")
    # Jinja braces are built by concatenation: no format string has to escape them.
    picks = [(_("Name"), "{{ name | default(" + json.dumps(fallback, ensure_ascii=False) + ") }}")]
    picks += [
        (_("Customer number"), "{{ customer_number }}"),
        (_("Last visit"), "{{ last_visit_date }}"),
        (_("Days since the last visit"), "{{ days_since_last_visit }}"),
        (_("Visits"), "{{ visit_count }}"),
        (_("Total spent (yen)"), "{{ total_spent }}円"),
        (_("Tags"), "{{ tags }}"),
    ]
    picks += [
        (key, "{{ attributes[" + json.dumps(key, ensure_ascii=False) + "] }}")
        for key in sorted(keys)
        if key.isprintable()
    ]
    return picks


@dataclass(frozen=True)
class PickerEntry:
    """A contact in the test-send picker, with enough to tell four 佐藤 悠斗 apart: the
    customer number and a masked phone (never the whole number)."""

    contact: Contact
    customer_number: str
    masked_phone: str

    @property
    def name(self) -> str:
        return self.contact.name or self.contact.line_display_name or f"#{self.contact.pk}"


def picker_entry(contact: Contact) -> PickerEntry:
    return PickerEntry(contact, contact.external_id or "", mask_phone(contact.phone))


# --- recipients, quota and cost ---------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    targeted: int
    reachable: int
    quota: Quota | None
    cost: CostEstimate | None
    allowance: MonthAllowance | None = None
    plan: str = ""

    @property
    def unreachable(self) -> int:
        return self.targeted - self.reachable

    @property
    def remaining(self) -> int | None:
        """Messages that can still go out this month (LINE's cap or the plan's, the smaller)."""
        return self.allowance.remaining if self.allowance else None

    @property
    def limit_source(self) -> str:
        return self.allowance.source if self.allowance else ""

    @property
    def will_send(self) -> int:
        remaining = self.remaining
        return self.reachable if remaining is None else min(self.reachable, remaining)

    @property
    def left_unsent(self) -> int:
        return self.reachable - self.will_send

    @property
    def exceeds_quota(self) -> bool:
        return self.left_unsent > 0

    @property
    def paid_messages_possible(self) -> bool:
        return bool(self.plan) and PLAN_TERMS[Plan(self.plan)].extra_message_yen is not None


def estimate(workspace: Workspace, target: dict[str, Any], *, ask_line: bool = True) -> Estimate:
    """Who the target selects now and who of them LINE would reach (the send re-evaluates it
    when it starts), plus what that costs against this month's quota."""
    include, exclude = target_conditions(workspace, target)
    selected = Contact.objects.in_workspace(workspace).filter(include)
    if exclude is not None:
        selected = selected.exclude(exclude)
    targeted = selected.count()
    reachable = selected.reachable().exclude(line_user_id="").count()
    quota = month_quota(workspace) if ask_line else None
    if quota is None:
        return Estimate(targeted, reachable, None, None, plan=workspace.plan)
    allowance = month_allowance(workspace.plan, used=quota.used, line_remaining=quota.remaining)
    remaining = allowance.remaining
    sendable = reachable if remaining is None else min(reachable, remaining)
    cost = estimate_cost(workspace.plan, already_sent_this_month=quota.used, messages=sendable)
    return Estimate(targeted, reachable, quota, cost, allowance, workspace.plan)


def target_summary(workspace: Workspace, target: dict[str, Any]) -> dict[str, list[str]]:
    """Names of the lists in a target, for people rather than IDs."""
    segments = dict(Segment.objects.filter(workspace=workspace).values_list("pk", "name"))
    audiences = dict(Audience.objects.filter(workspace=workspace).values_list("pk", "name"))

    def names(parts: list[dict[str, Any]]) -> list[str]:
        out = []
        for part in parts:
            if "segment" in part:
                out.append(segments.get(int(part["segment"]), f"#{part['segment']}"))
            elif "audience" in part:
                out.append(audiences.get(int(part["audience"]), f"#{part['audience']}"))
            elif "contacts" in part:
                out.append(_("%(n)s chosen contacts") % {"n": len(part["contacts"])})
            else:
                out.append(_("a segment definition"))
        return out

    include = names(target.get("include", []))
    if target.get("all_friends") and not include:
        include = [_("All friends")]
    return {"include": include, "exclude": names(target.get("exclude", []))}


# --- the list ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    delivery: Delivery | None


def campaign_rows(campaigns: list[Campaign]) -> list[CampaignRow]:
    """Each campaign with its live delivery, in two queries."""
    deliveries = {
        d.campaign_id: d
        for d in Delivery.objects.filter(campaign__in=campaigns, kind=DeliveryKind.LIVE)
    }
    return [CampaignRow(c, deliveries.get(c.pk)) for c in campaigns]
