"""Personalisation placeholders (`{{ name | default("お客様") }}`, `{{ attributes.rank }}`).

Templates run in Jinja2's sandbox over a whitelist context built by `recipient_context`: the
recipient's name and custom attributes as plain strings, numbers and booleans. A template can
reach nothing else (no loader, no globals beyond Jinja's harmless ones, no objects with
methods), cannot build huge strings, and never raises at send time for a missing value: an
undefined name renders empty unless `default(...)` gives a fallback. Syntax errors are caught
when the campaign is saved (`check_templates`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

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


def _environment() -> _Sandbox:
    return _Sandbox(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)


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


def check_templates(messages: list[dict[str, Any]]) -> None:
    """Raise `TemplateProblem` (with the field path) for the first template that is not valid."""
    for index, message in enumerate(messages):
        for path, text in _walk(message, f"messages[{index}]"):
            if not _is_template(text):
                continue
            try:
                ENV.parse(text)
            except TemplateSyntaxError as exc:
                raise TemplateProblem(
                    path,
                    _("template error on line %(line)s: %(error)s")
                    % {"line": exc.lineno, "error": exc.message},
                ) from exc


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


def recipient_context(name: str, attributes: dict[str, Any] | None) -> dict[str, Any]:
    """The whole world a template sees. Empty values are left out so `default()` applies."""
    context: dict[str, Any] = {}
    if name:
        context["name"] = name
    attrs = {str(k): _plain(v) for k, v in (attributes or {}).items() if v not in (None, "")}
    context["attributes"] = attrs
    return context


@dataclass
class CompiledMessages:
    """Message objects with every template string compiled once, rendered per recipient."""

    messages: list[dict[str, Any]]
    _renderers: dict[str, Callable[[dict[str, Any]], str]]

    def render(self, context: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages for one recipient. Raises `TemplateProblem` only for runtime errors
        such as a refused huge result; missing values never raise."""
        return [self._render(m, f"messages[{i}]", context) for i, m in enumerate(self.messages)]

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


def compile_messages(messages: list[dict[str, Any]]) -> CompiledMessages:
    check_templates(messages)
    renderers: dict[str, Callable[[dict[str, Any]], str]] = {}
    for index, message in enumerate(messages):
        for path, text in _walk(message, f"messages[{index}]"):
            if _is_template(text):
                renderers[path] = ENV.from_string(text).render
    return CompiledMessages(messages, renderers)
