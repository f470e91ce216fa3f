"""HTTP endpoints of the audience API (`/v2/bot/audienceGroup/...`).

LINE serves the file variants on api-data.line.me; the emulator serves both hosts' paths on
one host. Every endpoint has its own 60/min bucket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import audiences, narrowcast
from line_emulator.audiences import AudienceError
from line_emulator.http import (
    LineError,
    authenticate,
    check_rate_limit,
    get_emulator,
    read_json_object,
    retry_key_of,
)
from line_emulator.middleware import FILE_UPLOAD_MAX_BYTES
from line_emulator.multipart import FormPart, parse_form
from line_emulator.state import Channel, Emulator

RETARGET_SOURCES = ("broadcast", "narrowcast")

Handler = Callable[[Request, Emulator, Channel], Awaitable[Response]]


def endpoint(key: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, rate-limit under `audience.<key>`, and map AudienceError to LINE's body."""

    async def wrapped(request: Request) -> Response:
        channel = await authenticate(request)
        emulator = get_emulator(request)
        check_rate_limit(emulator, channel, f"audience.{key}")
        retry_key_of(request, supported=False)
        try:
            return await handler(request, emulator, channel)
        except AudienceError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)

    return wrapped


def _created(group: audiences.AudienceGroup, emulator: Emulator) -> Response:
    body = group.to_json(emulator.now())
    for key in ("status", "failedType", "audienceCount"):
        body.pop(key)
    if group.type == "IMP":
        # LINE's impression response carries only the ID, type, name, time and request ID.
        body = {k: body[k] for k in ("audienceGroupId", "type", "description", "created")}
        body["requestId"] = group.request_id
    return JSONResponse(body, status_code=202)


async def _form(request: Request) -> dict[str, FormPart]:
    data = await request.body()
    if len(data) > FILE_UPLOAD_MAX_BYTES:
        raise LineError(413, "Request Entity Too Large")
    form = parse_form(request.headers.get("content-type", ""), data)
    if form is None:
        raise LineError(
            415, f"The content type, {request.headers.get('content-type')}, is not supported"
        )
    if "file" not in form:
        raise LineError(
            400,
            "The request body has 1 error(s)",
            [{"message": "May not be empty", "property": "file"}],
        )
    return form


def _field(form: dict[str, FormPart], name: str) -> str | None:
    part = form.get(name)
    return part.text() if part is not None else None


def _int_field(value: Any) -> Any:
    """The audience ID of a multipart form arrives as text."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


async def create_json(request: Request, emulator: Emulator, channel: Channel) -> Response:
    body = await read_json_object(request)
    group = audiences.create_upload(
        channel,
        body.get("description"),
        body.get("isIfaAudience"),
        body.get("uploadDescription"),
        audiences.json_ids(body.get("audiences")),
        audiences.MAX_JSON_IDS,
        emulator.now(),
    )
    return _created(group, emulator)


async def create_file(request: Request, emulator: Emulator, channel: Channel) -> Response:
    form = await _form(request)
    group = audiences.create_upload(
        channel,
        _field(form, "description"),
        (_field(form, "isIfaAudience") or "").lower() == "true",
        _field(form, "uploadDescription"),
        audiences.file_ids(form["file"].data),
        audiences.MAX_FILE_IDS,
        emulator.now(),
    )
    return _created(group, emulator)


async def add_json(request: Request, emulator: Emulator, channel: Channel) -> Response:
    body = await read_json_object(request)
    audiences.add_ids(
        channel,
        body.get("audienceGroupId"),
        body.get("uploadDescription"),
        audiences.json_ids(body.get("audiences")),
        audiences.MAX_JSON_IDS,
        emulator.now(),
    )
    return JSONResponse({}, status_code=202)


async def add_file(request: Request, emulator: Emulator, channel: Channel) -> Response:
    form = await _form(request)
    audiences.add_ids(
        channel,
        _int_field(_field(form, "audienceGroupId")),
        _field(form, "uploadDescription"),
        audiences.file_ids(form["file"].data),
        audiences.MAX_FILE_IDS,
        emulator.now(),
    )
    return JSONResponse({}, status_code=202)


def _source(emulator: Emulator, channel: Channel, rid: Any) -> Any:
    """The broadcast/narrowcast request a retargeting audience is built from, if any."""
    if not isinstance(rid, str):
        return None
    narrowcast.advance_all(emulator, channel)
    record = emulator.requests.get(rid)
    if record is None or record.channel_id != channel.channel_id:
        return None
    return record if record.endpoint in RETARGET_SOURCES else None


async def create_click(request: Request, emulator: Emulator, channel: Channel) -> Response:
    body = await read_json_object(request)
    rid, url = body.get("requestId"), body.get("clickUrl")
    record = _source(emulator, channel, rid)
    clickers = frozenset(
        c.user_id for c in channel.clicks if c.request_id == rid and (not url or c.url == url)
    )
    group = audiences.create_retargeting(
        channel,
        "CLICK",
        body.get("description"),
        rid,
        url,
        record.time if record is not None else None,
        clickers,
        emulator.now(),
    )
    return _created(group, emulator)


async def create_imp(request: Request, emulator: Emulator, channel: Channel) -> Response:
    body = await read_json_object(request)
    rid = body.get("requestId")
    record = _source(emulator, channel, rid)
    # The emulator has no "opened" signal, so every delivered recipient counts as an impression.
    viewers = frozenset(record.recipients) if record is not None else frozenset()
    group = audiences.create_retargeting(
        channel,
        "IMP",
        body.get("description"),
        rid,
        None,
        record.time if record is not None else None,
        viewers,
        emulator.now(),
    )
    return _created(group, emulator)


async def rename(request: Request, emulator: Emulator, channel: Channel) -> Response:
    body = await read_json_object(request)
    group_id: int = request.path_params["group_id"]
    audiences.rename(channel, group_id, body.get("description"), emulator.now())
    return JSONResponse({})


async def delete(request: Request, emulator: Emulator, channel: Channel) -> Response:
    audiences.delete(channel, request.path_params["group_id"], emulator.now())
    return JSONResponse({})


async def get_one(request: Request, emulator: Emulator, channel: Channel) -> Response:
    now = emulator.now()
    group = audiences.find_group(channel, request.path_params["group_id"], now)
    return JSONResponse({"audienceGroup": group.to_json(now), "jobs": group.jobs_json(now)})


def _query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise LineError(
            400,
            "The request body has 1 error(s)",
            [{"message": f"Must be between {low} and {high}", "property": name}],
        )
    return int(raw)


async def list_groups(request: Request, emulator: Emulator, channel: Channel) -> Response:
    page = _query_int(request, "page", 1, 1, 2**31 - 1)
    size = _query_int(request, "size", 20, 1, 40)
    params = request.query_params
    return JSONResponse(
        audiences.list_page(
            channel,
            page,
            size,
            params.get("description"),
            params.get("status"),
            params.get("createRoute"),
            emulator.now(),
        )
    )


_BASE = "/v2/bot/audienceGroup"
routes: list[BaseRoute] = [
    Route(f"{_BASE}/upload", endpoint("create", create_json), methods=["POST"]),
    Route(f"{_BASE}/upload", endpoint("add", add_json), methods=["PUT"]),
    Route(f"{_BASE}/upload/byFile", endpoint("createByFile", create_file), methods=["POST"]),
    Route(f"{_BASE}/upload/byFile", endpoint("addByFile", add_file), methods=["PUT"]),
    Route(f"{_BASE}/click", endpoint("click", create_click), methods=["POST"]),
    Route(f"{_BASE}/imp", endpoint("imp", create_imp), methods=["POST"]),
    Route(f"{_BASE}/list", endpoint("list", list_groups), methods=["GET"]),
    Route(
        f"{_BASE}/{{group_id:int}}/updateDescription",
        endpoint("rename", rename),
        methods=["PUT"],
    ),
    Route(f"{_BASE}/{{group_id:int}}", endpoint("get", get_one), methods=["GET"]),
    Route(f"{_BASE}/{{group_id:int}}", endpoint("delete", delete), methods=["DELETE"]),
]
