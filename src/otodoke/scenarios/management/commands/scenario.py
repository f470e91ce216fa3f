"""`otodoke scenario list|get|create|update|activate|pause|archive|stats|enrolments|templates`
run the REST API's scenario operations (`otodoke.api.routers.scenarios`) and print its JSON
with --json (see `otodoke.api.commandline` for who the CLI acts as); `otodoke scenario tick`
runs one scheduler pass by hand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import CliCaller, add_common, caller_for, fail, read_json, run
from otodoke.api.routers import scenarios as api
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop(
        "Scenarios (automations): list, get, create from a JSON file, update, activate, pause, "
        "archive, stats, a contact's enrolments, templates; tick runs the scheduler once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help=_("scenarios with their status and counts"))
        add_common(listing)
        listing.add_argument("--cursor")
        listing.add_argument("--limit", type=int, default=100)
        create = sub.add_parser("create", help=_("a draft scenario from a JSON file"))
        add_common(create)
        create.add_argument(
            "--file",
            required=True,
            help=_('{"name", "description", "definition"} or a bare definition (\'-\': stdin)'),
        )
        create.add_argument("--name")
        for name, text in (
            ("get", _("one scenario and its current definition")),
            ("update", _("change the name, description or definition (a new version)")),
            ("activate", _("check and activate")),
            ("pause", _("pause: nobody enters, nobody moves on")),
            ("archive", _("archive: contacts inside exit")),
            ("stats", _("entered, active, completed, converted, exited; per step")),
        ):
            p = sub.add_parser(name, help=text)
            add_common(p)
            p.add_argument("scenario_id", type=int)
        update = sub.choices["update"]
        update.add_argument("--file", help=_("a new definition JSON file"))
        update.add_argument("--name")
        update.add_argument("--description")
        enrolments = sub.add_parser("enrolments", help=_("a contact's enrolments"))
        add_common(enrolments)
        enrolments.add_argument("--contact", type=int, required=True)
        templates = sub.add_parser("templates", help=_("ready-made scenarios"))
        tsub = templates.add_subparsers(dest="templates_action", required=True)
        add_common(tsub.add_parser("list"))
        inst = tsub.add_parser("instantiate", help=_("a draft scenario from a template"))
        add_common(inst)
        inst.add_argument("key")
        inst.add_argument("--name")
        tick = sub.add_parser("tick", help=_("run the scheduler once (due steps, then sends)"))
        tick.add_argument("--workspace", help=_("only this workspace"))
        tick.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "tick":
            self._tick(options)
            return
        caller = caller_for(options)
        if action == "templates":
            action = f"templates_{options['templates_action']}"
        getattr(self, f"_{action}")(caller, options)

    def _tick(self, options: dict[str, Any]) -> None:
        from otodoke.scenarios.scheduler import tick
        from otodoke.segments.management.commands._common import get_workspace

        workspace_id = get_workspace(options["workspace"]).pk if options["workspace"] else None
        result = tick(workspace_id=workspace_id).as_dict()
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write("  ".join(f"{k} {v}" for k, v in result.items()))

    def _list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        params = api.PageParams.model_validate(
            {"cursor": options["cursor"], "limit": options["limit"]}
        )
        run(self, options, lambda: api.scenario_page(caller, params), _page_lines)

    def _create(self, caller: CliCaller, options: dict[str, Any]) -> None:
        data = read_json(self, options, options["file"])
        if not isinstance(data, dict):
            raise fail(self, options, "bad_request", _("The file must hold a JSON object"))
        if "definition" not in data:
            data = {"definition": data}
        if options["name"]:
            data["name"] = options["name"]
        if not data.get("name"):
            raise fail(self, options, "bad_request", _("Give the scenario a name (--name)"))
        run(
            self,
            options,
            lambda: api.create(caller, api.ScenarioIn.model_validate(data)),
            _scenario_lines,
        )

    def _get(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.read(caller, options["scenario_id"]), _scenario_lines)

    def _update(self, caller: CliCaller, options: dict[str, Any]) -> None:
        patch: dict[str, Any] = {}
        if options["file"]:
            definition = read_json(self, options, options["file"])
            if isinstance(definition, dict) and "definition" in definition:
                definition = definition["definition"]
            patch["definition"] = definition
        for key in ("name", "description"):
            if options[key] is not None:
                patch[key] = options[key]
        run(
            self,
            options,
            lambda: api.update(
                caller, options["scenario_id"], api.ScenarioPatch.model_validate(patch)
            ),
            _scenario_lines,
        )

    def _activate(self, caller: CliCaller, options: dict[str, Any]) -> None:
        self._act(caller, options, "activate")

    def _pause(self, caller: CliCaller, options: dict[str, Any]) -> None:
        self._act(caller, options, "pause")

    def _archive(self, caller: CliCaller, options: dict[str, Any]) -> None:
        self._act(caller, options, "archive")

    def _act(self, caller: CliCaller, options: dict[str, Any], action: str) -> None:
        run(
            self,
            options,
            lambda: api.act(caller, options["scenario_id"], action),
            _scenario_lines,
        )

    def _stats(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.stats(caller, options["scenario_id"]), _stats_lines)

    def _enrolments(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.enrolments(caller, options["contact"]), _enrolment_lines)

    def _templates_list(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.templates(caller), _template_lines)

    def _templates_instantiate(self, caller: CliCaller, options: dict[str, Any]) -> None:
        payload = api.InstantiateIn.model_validate({"name": options["name"]})
        run(
            self,
            options,
            lambda: api.instantiate(caller, options["key"], payload),
            _scenario_lines,
        )


def _scenario_lines(s: api.ScenarioOut) -> Iterator[str]:
    c = s.counts
    yield (
        f"{s.id:>6}  {s.name}  [{s.status}] v{s.version}  active {c.active}  "
        f"completed {c.completed}  converted {c.converted}  exited {c.exited}"
    )
    if s.status_reason:
        yield f"        {s.status_reason}"


def _page_lines(page: api.ScenarioPage) -> Iterator[str]:
    for s in page.items:
        yield from _scenario_lines(s)
    if page.next_cursor:
        yield f"next: --cursor {page.next_cursor}"


def _stats_lines(s: api.StatsOut) -> Iterator[str]:
    yield (
        f"entered {s.entered}  active {s.active}  completed {s.completed}  "
        f"converted {s.converted}  exited {s.exited}"
    )
    for step in s.steps:
        yield (
            f"  step {step.index} {step.type}: waiting {step.waiting}  sent {step.sent}  "
            f"failed {step.failed}  pending {step.pending}"
        )


def _enrolment_lines(rows: list[api.EnrolmentOut]) -> Iterator[str]:
    for e in rows:
        due = e.next_due_at.isoformat() if e.next_due_at else "-"
        yield (
            f"{e.scenario:>6}  {e.scenario_name}  run {e.run}  {e.status}  "
            f"step {e.step_index}  next {due}"
        )


def _template_lines(rows: list[api.TemplateOut]) -> Iterator[str]:
    for t in rows:
        yield f"{t.key:<28} {t.name}  {t.description}"
