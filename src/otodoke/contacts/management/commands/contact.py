"""`otodoke contact search|get|upsert|bulk|unlink|delete`: the REST API's contact operations
for scripts.

Each subcommand runs the API's own operation (`otodoke.api.routers.contacts`); `--json` prints
what the API would answer. See `otodoke.api.commandline` for who the CLI acts as.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from otodoke.api.commandline import (
    CliCaller,
    add_common,
    caller_for,
    check_items,
    fail,
    read_items,
    read_json,
    run,
    shift_path,
)
from otodoke.api.routers import contacts as api
from otodoke.api.routers.contact_schemas import (
    ContactBulkIn,
    ContactBulkOut,
    ContactDeletedOut,
    ContactFields,
    ContactFilters,
    ContactOut,
    ContactPage,
    ContactUnlinkedOut,
    ContactUpsertIn,
)
from otodoke.api.schemas import MAX_BULK_ITEMS
from otodoke.core.commands import OtodokeCommand


class Command(OtodokeCommand):
    help = gettext_noop(
        "Search, get, create or update, unlink and delete contacts (the REST API's contact "
        "operations)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        search = sub.add_parser("search", help="search contacts, a page at a time")
        add_common(search)
        search.add_argument("--q", help="part of the name or kana, or a customer number prefix")
        search.add_argument("--external-id", help="customer number")
        search.add_argument("--tag")
        search.add_argument("--line-status", choices=["none", "following", "blocked"])
        for pii in ("email", "phone", "line-user-id"):
            search.add_argument(f"--{pii}", help="needs --as a login who may view personal data")
        search.add_argument("--updated-since", help="ISO date-time with an offset")
        search.add_argument("--cursor", help="next_cursor of the previous page")
        search.add_argument("--limit", type=int, default=100)

        get = sub.add_parser("get", help="one contact, by ID or customer number")
        add_common(get)
        which = get.add_mutually_exclusive_group(required=True)
        which.add_argument("contact_id", nargs="?", type=int)
        which.add_argument("--external-id", help="customer number")

        upsert = sub.add_parser("upsert", help="create or update a contact by customer number")
        add_common(upsert)
        upsert.add_argument("external_id", help="customer number")
        upsert.add_argument("--fields", help="JSON file of fields as in the API ('-': stdin)")
        upsert.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="a field, e.g. --set name=山田花子 --set marketing_consent=true",
        )
        upsert.add_argument("--tag", action="append", default=[], help="add a tag (repeatable)")

        bulk = sub.add_parser("bulk", help="create or update many contacts from a file")
        add_common(bulk)
        bulk.add_argument(
            "--file",
            required=True,
            help='JSON array, {"contacts": [...]} or JSON Lines; more than 1,000 items are '
            "sent in batches of 1,000 ('-': stdin)",
        )

        unlink = sub.add_parser(
            "unlink",
            help="unlink the contact's LINE account (the friend stays, as a friend-only contact)",
        )
        add_common(unlink)
        unlink.add_argument("contact_id", type=int)

        delete = sub.add_parser(
            "delete",
            help="delete a contact and their personal data for good (a deletion request); "
            "campaign results keep their counts; audited",
        )
        add_common(delete)
        delete.add_argument("contact_id", type=int)
        delete.add_argument(
            "--yes", action="store_true", help="confirm: the deletion cannot be undone"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        caller = caller_for(options)
        getattr(self, "_" + options["action"])(caller, options)

    def _search(self, caller: CliCaller, options: dict[str, Any]) -> None:
        keys = [
            *("q", "external_id", "tag", "line_status", "email", "phone", "line_user_id"),
            *("updated_since", "cursor", "limit"),
        ]
        query = {k: options[k] for k in keys if options[k] is not None}
        run(
            self,
            options,
            lambda: api.search(caller, ContactFilters.model_validate(query)),
            _page_lines,
        )

    def _get(self, caller: CliCaller, options: dict[str, Any]) -> None:
        external_id = options["external_id"]
        if external_id:
            run(self, options, lambda: api.get_by_external_id(caller, external_id), _contact_lines)
        else:
            run(self, options, lambda: api.get(caller, options["contact_id"]), _contact_lines)

    def _upsert(self, caller: CliCaller, options: dict[str, Any]) -> None:
        fields = self._fields(options)
        external_id = options["external_id"]
        run(
            self,
            options,
            lambda: api.upsert(caller, external_id, ContactFields.model_validate(fields)),
            _contact_lines,
        )

    def _bulk(self, caller: CliCaller, options: dict[str, Any]) -> None:
        items = read_items(self, options, options["file"], "contacts")
        check_items(self, options, items, "contacts", ContactUpsertIn)
        run(self, options, lambda: bulk_contacts(caller, items), _bulk_lines)

    def _unlink(self, caller: CliCaller, options: dict[str, Any]) -> None:
        run(self, options, lambda: api.unlink(caller, options["contact_id"]), _unlinked_lines)

    def _delete(self, caller: CliCaller, options: dict[str, Any]) -> None:
        if not options["yes"]:
            raise fail(
                self,
                options,
                "bad_request",
                _("Deleting a contact cannot be undone: add --yes to confirm"),
            )
        run(self, options, lambda: api.delete(caller, options["contact_id"]), _deleted_lines)

    def _fields(self, options: dict[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if options["fields"]:
            data = read_json(self, options, options["fields"])
            if not isinstance(data, dict):
                raise fail(self, options, "bad_request", "--fields must hold a JSON object")
            fields.update(data)
        for pair in options["set"]:
            key, sep, value = pair.partition("=")
            if not sep:
                raise fail(self, options, "bad_request", f"--set {pair!r}: expected FIELD=VALUE")
            fields[key.strip()] = value
        if options["tag"]:
            fields["tags"] = [*fields.get("tags", []), *options["tag"]]
        return fields


def bulk_contacts(caller: CliCaller, items: list[Any]) -> ContactBulkOut:
    """The API's bulk upsert in batches of 1,000, with indexes and paths into the whole file."""
    total = ContactBulkOut(created=0, updated=0, unchanged=0, failed=0, merged=0, results=[])
    for start in range(0, len(items), MAX_BULK_ITEMS):
        chunk = items[start : start + MAX_BULK_ITEMS]
        part = api.bulk_upsert(caller, ContactBulkIn.model_validate({"contacts": chunk}))
        for field in ("created", "updated", "unchanged", "failed", "merged"):
            setattr(total, field, getattr(total, field) + getattr(part, field))
        for result in part.results:
            result.index += start
            for error in result.errors:
                error.path = shift_path(error.path, start)
            total.results.append(result)
    return total


def _contact_lines(contact: ContactOut) -> Iterator[str]:
    yield (
        f"contact {contact.id}  {contact.external_id or '-'}  {contact.name or '-'}  "
        f"LINE {contact.line_status}  consent {'yes' if contact.marketing_consent else 'no'}"
    )
    for label, value in (("e-mail", contact.email), ("phone", contact.phone),
                         ("LINE user ID", contact.line_user_id)):  # fmt: skip
        if value:
            yield f"  {label}: {value}"
    if contact.tags:
        yield "  " + _("tags: %(tags)s") % {"tags": ", ".join(contact.tags)}
    yield (
        f"  visits {contact.visit_count}  purchases {contact.purchase_count}  "
        f"spent ¥{contact.total_spent:,}"
    )


def _unlinked_lines(result: ContactUnlinkedOut) -> Iterator[str]:
    yield (
        f"contact {result.contact} unlinked; the LINE friend is now contact {result.friend_contact}"
    )


def _deleted_lines(result: ContactDeletedOut) -> Iterator[str]:
    removed = ", ".join(f"{k} {v}" for k, v in sorted(result.removed.items()))
    yield f"contact {result.contact} deleted ({removed})"


def _page_lines(found: ContactPage) -> Iterator[str]:
    for c in found.items:
        yield f"{c.id:>8} {c.external_id or '-':<12} {c.name or '-':<16} {c.line_status:<9}"
    if found.next_cursor:
        yield _("more: --cursor %(cursor)s") % {"cursor": found.next_cursor}


def _bulk_lines(result: ContactBulkOut) -> Iterator[str]:
    yield (
        f"created {result.created}  updated {result.updated}  unchanged {result.unchanged}  "
        f"merged {result.merged}  failed {result.failed}"
    )
    for item in result.results:
        for error in item.errors:
            yield f"  {error.path}: {error.message}"
