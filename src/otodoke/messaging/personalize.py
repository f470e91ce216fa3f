"""Personalisation placeholders (`{{ name | default("お客様") }}`, `{{ attributes.rank }}`).

Templates run in Jinja2's sandbox over a whitelist context built by `recipient_context`: the
recipient's name, custom attributes and business data (customer number, last visit, visits,
total spent, tags) as plain strings, numbers and booleans (an amount that prints with
separators, a tag list that prints joined). A template can
reach nothing else (no loader, no globals beyond Jinja's harmless ones, no objects with
methods), cannot build huge strings, and never raises at send time for a missing value: an
undefined name renders empty unless `default(...)` gives a fallback. Syntax errors are caught
when the campaign is saved (`check_templates`).

The sandbox alone bounds what a template can reach, not how long it runs: two nested
`{% for %}` over `range(100000)` would hold a worker for minutes before MAX_RENDERED cut the
output. So `check_templates` also walks the parsed template and admits only a small language:
`{{ name }}` and the business data (`{{ visit_count }}` …, see `recipient_context`), attribute
and item lookups (`attributes.rank`, `attributes["会員ランク"]`),
constants, the filters in `ALLOWED_FILTERS` with constant or lookup arguments, and
`{% if %}`/`{% elif %}`/`{% else %}` with comparisons, `and`/`or`/`not` and `is defined`.
Loops, macros, `set`, includes, calls and arithmetic are refused when the campaign is saved,
and again before a send compiles the messages. Every such template renders in linear time.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from django.utils.translation import gettext as _
from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.runtime import new_context
from jinja2.sandbox import SandboxedEnvironment

from otodoke.messaging.validation import emoji_positions, utf16_len

# Rendered strings longer than this are cut off: LINE's largest text field is 5,000 UTF-16
# units, so anything longer could never be sent anyway.
MAX_RENDERED = 20_000
TEMPLATE_MARKERS = ("{{", "{%", "{#")
# Keys whose values are never templates (they select LINE behaviour, not content).
NON_TEMPLATE_KEYS = frozenset({"type"})


class TemplateProblem(ValueError):  # noqa: N818 - a problem report, like MessageProblem
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class _Sandbox(SandboxedEnvironment):
    """Refuses `*` and `**` results that would be enormous (`"x" * 10**9`)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise OverflowError("exponent too large")
            return operator.pow(left, right)
        if isinstance(left, str | list) or isinstance(right, str | list):
            count = right if isinstance(left, str | list) else left
            if (
                isinstance(count, int)
                and count * max(len(left if isinstance(left, str | list) else right), 1)
                > MAX_RENDERED
            ):
                raise OverflowError("result too large")
        return operator.mul(left, right)


# The filters a placeholder may use: `default` (documented, "{{ name | default("お客様") }}")
# and a few that only change case or whitespace. None can make its input longer than it is.
ALLOWED_FILTERS = frozenset({"default", "d", "trim", "upper", "lower", "title", "capitalize"})
ALLOWED_TESTS = frozenset({"defined", "undefined", "none", "number", "string"})
_COMPARISONS = frozenset({"eq", "ne", "lt", "lteq", "gt", "gteq", "in", "notin"})
# Nodes that are fine wherever they appear; their children are checked in turn.
_PLAIN_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.And,
    nodes.Or,
    nodes.Not,
)
_TAGS: dict[type[nodes.Node], str] = {
    nodes.For: "{% for %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Assign: "{% set %}",
    nodes.AssignBlock: "{% set %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Extends: "{% extends %}",
    nodes.Block: "{% block %}",
    nodes.FilterBlock: "{% filter %}",
    nodes.With: "{% with %}",
}


def _environment(finalize: Callable[[Any], Any] | None = None) -> _Sandbox:
    return _Sandbox(
        undefined=ChainableUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        finalize=finalize,
    )


ENV = _environment()


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in NON_TEMPLATE_KEYS:
                yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _is_template(text: str) -> bool:
    return any(marker in text for marker in TEMPLATE_MARKERS)


def _refused(node: nodes.Node) -> str | None:
    """What in this template is outside the placeholder language, or None when nothing is."""
    if isinstance(node, nodes.Name):
        if node.ctx != "load" or node.name.startswith("_") or node.name in ENV.globals:
            return node.name
    elif isinstance(node, nodes.Getattr):
        if node.attr.startswith("_"):
            return f".{node.attr}"
        if not isinstance(node.node, nodes.Name | nodes.Getattr | nodes.Getitem):
            return _("lookups on anything but a placeholder")
    elif isinstance(node, nodes.Getitem):
        if not isinstance(node.arg, nodes.Const) or not isinstance(node.arg.value, str | int):
            return _("lookups by anything but a fixed key")
        if not isinstance(node.node, nodes.Name | nodes.Getattr | nodes.Getitem):
            return _("lookups on anything but a placeholder")
    elif isinstance(node, nodes.Filter):
        if node.name not in ALLOWED_FILTERS or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return f"| {node.name}"
    elif isinstance(node, nodes.Test):
        if node.name not in ALLOWED_TESTS or node.args or node.kwargs:
            return f"is {node.name}"
    elif isinstance(node, nodes.Compare):
        bad = next((op.op for op in node.ops if op.op not in _COMPARISONS), None)
        if bad is not None:
            return bad
    elif isinstance(node, nodes.Operand):
        pass
    elif not isinstance(node, _PLAIN_NODES):
        if isinstance(node, nodes.Call):
            return _("function calls")
        if isinstance(node, nodes.BinExpr | nodes.UnaryExpr | nodes.Concat):
            return _("arithmetic")
        return _TAGS.get(type(node), type(node).__name__)
    for child in node.iter_child_nodes():
        found = _refused(child)
        if found is not None:
            return found
    return None


def check_templates(messages: list[dict[str, Any]]) -> None:
    """Raise `TemplateProblem` (with the field path) for the first template that is not valid:
    a syntax error, or anything outside the placeholder language (see the module docstring)."""
    for index, message in enumerate(messages):
        for path, text in _walk(message, f"messages[{index}]"):
            if not _is_template(text):
                continue
            try:
                ast = ENV.parse(text)
            except TemplateSyntaxError as exc:
                raise TemplateProblem(
                    path,
                    _("template error on line %(line)s: %(error)s")
                    % {"line": exc.lineno, "error": exc.message},
                ) from exc
            refused = _refused(ast)
            if refused is not None:
                raise TemplateProblem(
                    path,
                    _(
                        "“%(what)s” is not allowed in a placeholder; use {{ name }}, "
                        "{{ attributes.KEY }}, the filters %(filters)s and {%% if %%}"
                    )
                    % {"what": refused, "filters": ", ".join(sorted(ALLOWED_FILTERS))},
                )


def _depends_on_recipient(text: str) -> bool:
    ast: nodes.Template = ENV.parse(text)
    return bool(meta.find_undeclared_variables(ast))


def is_personalised(messages: list[dict[str, Any]]) -> bool:
    """True iff rendering depends on the recipient (some template reads a context variable)."""
    return any(
        _is_template(text) and _depends_on_recipient(text)
        for index, message in enumerate(messages)
        for _path, text in _walk(message, f"messages[{index}]")
    )


def _plain(value: Any) -> Any:
    """Only JSON scalars and containers of them reach a template."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


class Yen(int):
    """An amount that prints with separators (`{{ total_spent }}円` → 30,000円) and still
    compares as a number (`{% if total_spent >= 10000 %}`)."""

    def __str__(self) -> str:
        return f"{int(self):,}"


class TagList(list[str]):
    """Tag names that print as 「VIP、カット会員」 and still answer `"VIP" in tags`."""

    def __str__(self) -> str:
        return "、".join(self)


@dataclass(frozen=True)
class BusinessData:
    """What the shop knows about the recipient beyond name and custom attributes: read from
    the contact's own columns (and its tags) by the caller, set-based."""

    customer_number: str = ""
    last_visit_at: datetime | None = None
    visit_count: int = 0
    total_spent: int = 0
    tags: tuple[str, ...] = ()


def recipient_context(
    name: str,
    attributes: dict[str, Any] | None,
    business: BusinessData | None = None,
    *,
    tz: tzinfo | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """The whole world a template sees. Empty values are left out so `default()` applies.

    With `business`: `customer_number`, `last_visit_date` (2026/11/30 in `tz`, the workspace's
    time zone), `days_since_last_visit` (whole local days until `today`), `visit_count`,
    `total_spent` (yen, printed with separators) and `tags` (printed joined with 「、」)."""
    context: dict[str, Any] = {}
    if name:
        context["name"] = name
    attrs = {str(k): _plain(v) for k, v in (attributes or {}).items() if v not in (None, "")}
    context["attributes"] = attrs
    if business is not None:
        if business.customer_number:
            context["customer_number"] = business.customer_number
        if business.last_visit_at is not None:
            zone = tz or UTC
            visited = business.last_visit_at.astimezone(zone).date()
            context["last_visit_date"] = f"{visited:%Y/%m/%d}"
            now = today or datetime.now(zone).date()
            context["days_since_last_visit"] = max((now - visited).days, 0)
        context["visit_count"] = int(business.visit_count)
        context["total_spent"] = Yen(business.total_spent)
        context["tags"] = TagList(business.tags)
    return context


def uses_variable(messages: list[dict[str, Any]], variable: str) -> bool:
    """True iff some template of the messages reads `variable` (so a send loads it)."""
    return any(
        _is_template(text) and variable in meta.find_undeclared_variables(ENV.parse(text))
        for index, message in enumerate(messages)
        for _path, text in _walk(message, f"messages[{index}]")
    )


# Index-based fields: a text message's `emojis[].index` is the UTF-16 position of a `$` in
# `text`. A placeholder before it changes that position per recipient, so each emoji's `$` is
# carried through the render as a marker (private-use characters no template or customer
# writes), found again afterwards and its index recomputed in UTF-16 units.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_MARK = re.compile(f"{_MARK_OPEN}(\\d+){_MARK_CLOSE}")


def _marked_emoji_text(message: dict[str, Any]) -> tuple[str, frozenset[int]] | None:
    """The text with each emoji's `$` replaced by its marker, and the emojis marked; None when
    nothing moves."""
    text, emojis = message.get("text"), message.get("emojis")
    if message.get("type") != "text" or not isinstance(text, str) or not _is_template(text):
        return None
    if not isinstance(emojis, list) or not emojis:
        return None
    chars = list(text.replace(_MARK_OPEN, "").replace(_MARK_CLOSE, ""))
    if len(chars) != len(text):
        return None
    marked = set()
    for i, position in enumerate(emoji_positions(text, emojis)):
        if position is not None:
            chars[position] = f"{_MARK_OPEN}{i}{_MARK_CLOSE}"
            marked.add(i)
    return "".join(chars), frozenset(marked)


def _place_emojis(message: dict[str, Any], original: list[Any], marked: frozenset[int]) -> None:
    """Turn the markers of a rendered text back into `$` and give each emoji its new UTF-16
    index; an emoji whose `$` an `{% if %}` left out is left out too."""
    rendered = message["text"]
    text: list[str] = []
    placed: dict[int, int] = {}
    units = last = 0
    for match in _MARK.finditer(rendered):
        before = rendered[last : match.start()]
        text.append(before)
        units += utf16_len(before)
        number = int(match.group(1))
        if number < len(original) and number not in placed:
            placed[number] = units
        text.append("$")
        units += 1
        last = match.end()
    text.append(rendered[last:])
    message["text"] = "".join(text)
    emojis = [
        {**emoji, "index": placed[i]} if i in placed else emoji
        for i, emoji in enumerate(original)
        # Unmarked: its index never pointed at a `$`; kept as is, for validation to refuse.
        if i in placed or i not in marked
    ]
    if emojis:
        message["emojis"] = emojis
    else:
        message.pop("emojis", None)


def _textv2_literal(value: Any) -> Any:
    """A value placed into a textV2 text: its braces are doubled, so a customer named
    "{everyone}" is text, never a mention or emoji placeholder."""
    if isinstance(value, str):
        return value.replace("{", "{{").replace("}", "}}")
    return value


TEXTV2_ENV = _environment(finalize=_textv2_literal)


@dataclass
class CompiledMessages:
    """Message objects with every template string compiled once, rendered per recipient."""

    messages: list[dict[str, Any]]
    _renderers: dict[str, Callable[[dict[str, Any]], str]]
    # Message index → its original emojis, for texts whose emoji indexes move when rendered.
    _emojis: dict[int, tuple[list[Any], frozenset[int]]] = field(default_factory=dict)

    def render(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages for one recipient. Raises `TemplateProblem` only for runtime errors
        such as a refused huge result; missing values never raise."""
        rendered = [self._render(m, f"messages[{i}]", context) for i, m in enumerate(self.messages)]
        for index, (original, marked) in self._emojis.items():
            _place_emojis(rendered[index], original, marked)
        return rendered

    def _render(self, value: Any, path: str, context: dict[str, Any]) -> Any:
        if isinstance(value, str):
            renderer = self._renderers.get(path)
            if renderer is None:
                return value
            try:
                return renderer(context)[:MAX_RENDERED]
            except Exception as exc:
                raise TemplateProblem(path, str(exc)) from exc
        if isinstance(value, dict):
            return {
                k: (v if k in NON_TEMPLATE_KEYS else self._render(v, f"{path}.{k}", context))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._render(v, f"{path}[{i}]", context) for i, v in enumerate(value)]
        return value


def _renderer(env: _Sandbox, text: str) -> Callable[[dict[str, Any]], str]:
    """`Template.render` without its per-call costs: Jinja merges its globals (a ChainMap)
    into every context and rewrites tracebacks on errors, which took most of a send's render
    time. The globals are merged once here; errors still raise (the caller reports them)."""
    template = env.from_string(text)
    names = dict(template.globals)
    root, blocks, name, concat = (
        template.root_render_func,
        template.blocks,
        template.name,
        env.concat,
    )

    def render(context: dict[str, Any]) -> str:
        ctx = new_context(env, name, blocks, {**names, **context}, shared=True)
        return str(concat(root(ctx)))

    return render


def compile_messages(messages: list[dict[str, Any]]) -> CompiledMessages:
    check_templates(messages)
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {}
    moving: dict[int, tuple[list[Any], frozenset[int]]] = {}
    for index, message in enumerate(messages):
        for path, text in _walk(message, f"messages[{index}]"):
            if _is_template(text):
                renderers[path] = _renderer(ENV, text)
        if isinstance(message, dict) and message.get("type") == "textV2":
            v2_text = message.get("text")
            if isinstance(v2_text, str) and _is_template(v2_text):
                renderers[f"messages[{index}].text"] = _renderer(TEXTV2_ENV, v2_text)
        marked = _marked_emoji_text(message) if isinstance(message, dict) else None
        if marked is not None:
            renderers[f"messages[{index}].text"] = _renderer(ENV, marked[0])
            moving[index] = (list(message["emojis"]), marked[1])
    return CompiledMessages(messages, renderers, moving)
