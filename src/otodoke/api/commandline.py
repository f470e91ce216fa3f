"""The API's operations on the command line: who the CLI acts as, and how it prints.

`otodoke contact|event|tag|segment|audience|campaign …` run the very operations the REST API
endpoints run (`otodoke.api.routers.*`), never HTTP to ourselves, so a script gets the same
rules, the same results and, with `--json`, the same JSON as an API client.

Who acts: the server operator, named "cli" in the audit log, with every permission except
seeing personal data and exporting it. `--as USERNAME` acts as that staff login instead: its
role's permissions are checked (as in the UI) and the audit log names it "USERNAME (cli)";
LINE user IDs, phone numbers and e-mails are shown only to a login with that permission (the
same rule as `otodoke segment preview --as`).

Errors: a clear message on stderr and exit status 1; with `--json`, stdout also gets the API's
error body, `{"error": {"code", "message", "details": [{"path", "message"}]}}`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic
from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.responses import NinjaJSONEncoder

from otodoke.api.errors import ApiError, format_path
from otodoke.api.parsing import check_stored_text
from otodoke.core import jsontext
from otodoke.segments.management.commands._common import get_user, get_workspace
from otodoke.workspaces.models import Workspace
from otodoke.workspaces.roles import Permission
from otodoke.workspaces.services import can

# What the operator (no --as) may not do: personal data is seen and exported by a person.
_NEEDS_A_PERSON = frozenset({Permission.VIEW_PII, Permission.EXPORT})


@dataclass(frozen=True, slots=True)
class CliCaller:
    """The CLI as an API `Caller` (see `otodoke.api.auth.Caller`)."""

    workspace: Workspace
    user: User | None = None

    @property
    def label(self) -> str:
        return f"{self.user.get_username()} (cli)" if self.user else "cli"

    def can(self, permission: Permission) -> bool:
        if self.user is None:
            return permission not in _NEEDS_A_PERSON
        return can(self.user, self.workspace, permission)

    @property
    def sees_pii(self) -> bool:
        return self.can(Permission.VIEW_PII)

    def require(self, permission: Permission) -> None:
        if self.can(permission):
            return
        if self.user is None:
            message = _("Needs a staff login with the “%(permission)s” permission (--as)")
        else:
            message = _("%(user)s does not have the “%(permission)s” permission")
        raise ApiError(
            403,
            message % {"permission": permission.value, "user": self.label},
            code="forbidden",
        )


def add_common(parser: CommandParser, *, workspace: bool = True) -> None:
    """--workspace, --as and --json, the same on every subcommand."""
    if workspace:
        parser.add_argument("--workspace", required=True, help="workspace slug")
    parser.add_argument(
        "--as",
        dest="as_user",
        help="staff login to act as (its permissions are checked; default: the operator)",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON")


def caller_for(options: dict[str, Any]) -> CliCaller:
    for name in ("workspace", "as_user"):
        if _unstorable(options.get(name)):
            option = "--as" if name == "as_user" else f"--{name}"
            raise CommandError(
                f"{option}: " + _("NUL characters and lone surrogates are not allowed")
            )
    return CliCaller(get_workspace(options["workspace"]), get_user(options.get("as_user")))


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return bool(jsontext.UNSTORABLE.search(value))
    if isinstance(value, list | tuple):
        return any(_unstorable(item) for item in value)
    return False


def _unstorable_options(options: dict[str, Any]) -> list[tuple[str, str]]:
    """Command-line values no database stores (NUL, lone surrogates), as `--option` paths:
    they reach the services without the API's JSON edge, so they are checked here."""
    message = _("NUL characters and lone surrogates are not allowed")
    return [
        (f"--{key.replace('_', '-')}", message)
        for key, value in options.items()
        if key not in {"stdout", "stderr"} and _unstorable(value)
    ]


def to_json(value: Any) -> str:
    """A result as the API would answer it (same field names, dates and numbers)."""
    data = value.model_dump() if isinstance(value, Schema | pydantic.BaseModel) else value
    return json.dumps(data, cls=NinjaJSONEncoder, ensure_ascii=False)


def run(
    command: BaseCommand,
    options: dict[str, Any],
    operation: Callable[[], Any],
    human: Callable[[Any], Iterable[str]],
) -> Any:
    """Run one operation and print its result (JSON or `human` lines); any refusal becomes a
    clear error with a non-zero exit status."""
    if unstorable := _unstorable_options(options):
        raise _fail(
            command,
            options,
            "validation_error",
            _("The request contains characters that cannot be stored"),
            unstorable,
        )
    try:
        result = operation()
    except ApiError as exc:
        raise _fail(command, options, exc.code, exc.message, exc.details) from exc
    except pydantic.ValidationError as exc:
        details = [(format_path(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        raise _fail(
            command, options, "validation_error", _("The request is not valid"), details
        ) from exc
    except ObjectDoesNotExist as exc:
        raise _fail(command, options, "not_found", _("Not found")) from exc
    except PermissionDenied as exc:
        raise _fail(command, options, "forbidden", str(exc) or _("Not allowed")) from exc
    if options.get("json"):
        command.stdout.write(to_json(result))
    else:
        for line in human(result):
            command.stdout.write(line)
    return result


def fail(
    command: BaseCommand,
    options: dict[str, Any],
    code: str,
    message: str,
    details: Iterable[tuple[str, str]] = (),
) -> CommandError:
    """An error raised before an operation runs (unreadable file, bad argument)."""
    return _fail(command, options, code, message, details)


def _fail(
    command: BaseCommand,
    options: dict[str, Any],
    code: str,
    message: str,
    details: Iterable[tuple[str, str]] = (),
) -> CommandError:
    pairs = list(details)
    if options.get("json"):
        body = {
            "error": {
                "code": code,
                "message": message,
                "details": [{"path": p, "message": m} for p, m in pairs],
            }
        }
        command.stdout.write(json.dumps(body, ensure_ascii=False))
    lines = [message, *(f"  {p}: {m}" if p else f"  {m}" for p, m in pairs[:50])]
    if len(pairs) > 50:
        lines.append("  " + _("… %(count)d more") % {"count": len(pairs) - 50})
    return CommandError("\n".join(lines))


def read_json(command: BaseCommand, options: dict[str, Any], path: str) -> Any:
    """A JSON file ('-' for stdin), refused like the API refuses text no database stores."""
    text = read_text(command, options, path)
    try:
        data = jsontext.loads(text)
    except ValueError as exc:
        raise fail(
            command,
            options,
            "bad_request",
            _("%(path)s: not valid JSON (%(error)s)") % {"path": path, "error": exc},
        ) from exc
    _check_text(command, options, data)
    return data


def read_items(command: BaseCommand, options: dict[str, Any], path: str, key: str) -> list[Any]:
    """Items of a bulk file: a JSON array, a JSON object {key: [...]} (the API's request body)
    or JSON Lines (one object per line)."""
    text = read_text(command, options, path)
    try:
        data = jsontext.loads(text)
    except ValueError:
        data = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data.append(jsontext.loads(line))
            except ValueError as exc:
                raise fail(
                    command,
                    options,
                    "bad_request",
                    _("%(path)s: line %(line)d: not JSON (%(error)s)")
                    % {"path": path, "line": number, "error": exc},
                ) from exc
    if isinstance(data, dict) and key in data:
        data = data[key]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise fail(
            command,
            options,
            "bad_request",
            _("%(path)s: expected a list of %(key)s (JSON or JSONL)") % {"path": path, "key": key},
        )
    _check_text(command, options, {key: data})
    return data


def check_items(
    command: BaseCommand,
    options: dict[str, Any],
    items: list[Any],
    key: str,
    schema: type[pydantic.BaseModel],
) -> None:
    """Like the API: one malformed item rejects the whole file, with each problem's path
    (contacts[3].phone), and nothing changes."""
    problems: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        try:
            schema.model_validate(item)
        except pydantic.ValidationError as exc:
            problems += [
                (format_path((key, i, *e["loc"])), e["msg"]) for e in exc.errors(include_url=False)
            ]
    if problems:
        raise fail(command, options, "validation_error", _("The request is not valid"), problems)


def read_text(command: BaseCommand, options: dict[str, Any], path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(
            command,
            options,
            "bad_request",
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc},
        ) from exc


def _check_text(command: BaseCommand, options: dict[str, Any], data: Any) -> None:
    try:
        check_stored_text(data)
    except ApiError as exc:
        raise fail(command, options, exc.code, exc.message, exc.details) from exc


def id_list(value: str) -> list[int]:
    """argparse type: "1,2,3" → [1, 2, 3]."""
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(
            _("Not a comma-separated list of IDs: %(value)r") % {"value": value}
        ) from exc


def name_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


_ITEM_PATH = re.compile(r"^(\w+)\[(\d+)\]")


def shift_path(path: str, offset: int) -> str:
    """contacts[3].phone of a chunk starting at item 1000 → contacts[1003].phone."""
    return _ITEM_PATH.sub(lambda m: f"{m.group(1)}[{int(m.group(2)) + offset}]", path, count=1)
