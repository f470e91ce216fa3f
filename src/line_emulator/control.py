"""Control API under /_emulator (no auth): channels, faults, rate limits, clock, reset.

Friend actions and delivery records are in control_friends.py.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.config import ChannelConfig, FaultConfig, LatencyConfig, RateLimit, WebhookConfig
from line_emulator.control_friends import channel_or_404
from line_emulator.control_friends import routes as friend_routes
from line_emulator.http import LineError, get_emulator, read_json_object
from line_emulator.serialize import channel_json
from line_emulator.state import Emulator

PREFIX = "/_emulator"


def _merge(target: Any, changes: dict[str, Any], allowed: set[str]) -> None:
    """Set known dataclass fields from a JSON object; unknown keys are a 400."""
    unknown = set(changes) - allowed
    if unknown:
        raise LineError(400, f"Unknown settings: {sorted(unknown)}")
    for key, value in changes.items():
        setattr(target, key, tuple(value) if isinstance(value, list) else value)


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


async def state(request: Request) -> Response:
    emulator = get_emulator(request)
    return JSONResponse(
        {
            "now": emulator.now().isoformat(),
            "clock_offset_seconds": emulator.clock_offset,
            "channels": [channel_json(c) for c in emulator.channels.values()],
            "faults": asdict(emulator.config.faults),
            "latency": asdict(emulator.config.latency),
            "scripted_faults": emulator.scripted_faults,
            "scripted_answers": emulator.scripted_answers,
            "webhook": asdict(emulator.config.webhook),
            "rate_limits": _rate_limits_json(emulator),
            "requests": len(emulator.requests),
        }
    )


async def reset(request: Request) -> Response:
    get_emulator(request).reset()
    return JSONResponse({})


async def clock(request: Request) -> Response:
    emulator = get_emulator(request)
    if request.method == "POST":
        body = await read_json_object(request)
        seconds = body.get("seconds")
        if not isinstance(seconds, int | float):
            raise LineError(400, 'Give the number of seconds to advance by: {"seconds": N}')
        emulator.advance_clock(float(seconds))
    return JSONResponse(
        {"now": emulator.now().isoformat(), "offset_seconds": emulator.clock_offset}
    )


async def faults(request: Request) -> Response:
    """GET or PUT fault shares and latency; PUT changes only the keys given."""
    emulator = get_emulator(request)
    config = emulator.config
    if request.method == "PUT":
        body = await read_json_object(request)
        latency = {k: body.pop(k) for k in list(body) if k in _names(LatencyConfig)}
        _merge(config.faults, body, _names(FaultConfig))
        _merge(config.latency, latency, _names(LatencyConfig))
    return JSONResponse({**asdict(config.faults), **asdict(config.latency)})


async def fault_script(request: Request) -> Response:
    """POST {"faults": [kind, ...]} queues exact faults for the next LINE API requests, in
    order ("none" lets one request through); DELETE clears the queue."""
    from line_emulator.faults import FAULT_KINDS

    emulator = get_emulator(request)
    if request.method == "DELETE":
        emulator.scripted_faults.clear()
    else:
        body = await read_json_object(request)
        kinds = body.get("faults")
        if not isinstance(kinds, list) or any(k not in (*FAULT_KINDS, "none") for k in kinds):
            raise LineError(400, f"faults must be a list of {[*FAULT_KINDS, 'none']}")
        emulator.scripted_faults.extend(kinds)
    return JSONResponse({"scripted_faults": emulator.scripted_faults})


async def answer_script(request: Request) -> Response:
    """POST {"answers": [{"method": "GET", "path": "/v2/bot/followers/ids", "status": 200,
    "body": {...}}, ...]} answers the next request with that method and path with `body`
    instead of the real answer, once per entry, in order; DELETE clears the script."""
    emulator = get_emulator(request)
    if request.method == "DELETE":
        emulator.scripted_answers.clear()
    else:
        body = await read_json_object(request)
        answers = body.get("answers")
        if not isinstance(answers, list) or not answers:
            raise LineError(400, "answers must be a non-empty list")
        checked: list[dict[str, Any]] = []
        for index, answer in enumerate(answers):
            if (
                not isinstance(answer, dict)
                or not isinstance(answer.get("method"), str)
                or not isinstance(answer.get("path"), str)
                or not str(answer.get("path")).startswith("/")
                or not isinstance(answer.get("status", 200), int)
                or "body" not in answer
            ):
                raise LineError(
                    400, f"answers[{index}] needs method, path (/…), body and an int status"
                )
            checked.append(
                {
                    "method": answer["method"].upper(),
                    "path": answer["path"],
                    "status": answer.get("status", 200),
                    "body": answer["body"],
                }
            )
        emulator.scripted_answers.extend(checked)
    return JSONResponse({"scripted_answers": emulator.scripted_answers})


async def responses(request: Request) -> Response:
    """GET what every LINE API request got: `counts` by "METHOD path" then status, and
    `requests` in arrival order (`?path=` keeps one path, `?log=0` leaves the list out) with
    the client's port and retry key. DELETE forgets them."""
    emulator = get_emulator(request)
    if request.method == "DELETE":
        emulator.responses.clear()
        return JSONResponse({})
    only = request.query_params.get("path")
    records = [r for r in emulator.responses if only is None or r.path == only]
    counts: dict[str, dict[str, int]] = {}
    for record in records:
        per_status = counts.setdefault(f"{record.method} {record.path}", {})
        per_status[record.status] = per_status.get(record.status, 0) + 1
    body: dict[str, Any] = {"counts": counts}
    if request.query_params.get("log", "1") != "0":
        body["requests"] = [asdict(r) for r in records]
    return JSONResponse(body)


def _rate_limits_json(emulator: Emulator) -> dict[str, Any]:
    return {
        "enabled": emulator.config.rate_limits_enabled,
        "overrides": {k: asdict(v) for k, v in emulator.config.rate_limits.items()},
    }


async def rate_limits(request: Request) -> Response:
    """PUT {"enabled": bool, "overrides": {"multicast": "50/s,burst=10", ...}} replaces the
    overrides (LINE's defaults apply to keys not given) and refills every bucket."""
    emulator = get_emulator(request)
    if request.method == "PUT":
        body = await read_json_object(request)
        enabled = body.get("enabled", emulator.config.rate_limits_enabled)
        raw = body.get("overrides", {})
        if not isinstance(enabled, bool) or not isinstance(raw, dict):
            raise LineError(400, 'Expected {"enabled": bool, "overrides": {key: rate}}')
        try:
            overrides = {key: RateLimit.parse(str(value)) for key, value in raw.items()}
        except ValueError as exc:
            raise LineError(400, str(exc)) from exc
        emulator.set_rate_limits(overrides, enabled)
    return JSONResponse(_rate_limits_json(emulator))


async def webhook_settings(request: Request) -> Response:
    emulator = get_emulator(request)
    if request.method == "PUT":
        body = await read_json_object(request)
        _merge(emulator.config.webhook, body, _names(WebhookConfig))
    return JSONResponse(asdict(emulator.config.webhook))


_CHANNEL_FIELDS = _names(ChannelConfig)


async def channels(request: Request) -> Response:
    emulator = get_emulator(request)
    if request.method == "POST":
        body = await read_json_object(request)
        unknown = set(body) - _CHANNEL_FIELDS
        if unknown or not body.get("access_token") or not body.get("channel_secret"):
            raise LineError(
                400,
                f"Need access_token and channel_secret; known fields: {sorted(_CHANNEL_FIELDS)}",
            )
        body.setdefault("channel_id", str(secrets.randbelow(9 * 10**9) + 10**9))
        body.setdefault("quota_type", emulator.config.default_quota_type)
        body.setdefault("quota_value", emulator.config.default_quota_value)
        channel = emulator.add_channel(ChannelConfig(**body))
        return JSONResponse(channel_json(channel), status_code=201)
    return JSONResponse({"channels": [channel_json(c) for c in emulator.channels.values()]})


async def channel_detail(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = channel_or_404(emulator, request.path_params["channel_id"])
    if request.method == "PATCH":
        body = await read_json_object(request)
        old_token = channel.config.access_token
        _merge(channel.config, body, _CHANNEL_FIELDS - {"channel_id"})
        emulator.channels_by_token.pop(old_token, None)
        emulator.channels_by_token[channel.config.access_token] = channel
    return JSONResponse(channel_json(channel))


routes: list[BaseRoute] = [
    Route(f"{PREFIX}/state", state, methods=["GET"]),
    Route(f"{PREFIX}/reset", reset, methods=["POST"]),
    Route(f"{PREFIX}/clock", clock, methods=["GET"]),
    Route(f"{PREFIX}/clock/advance", clock, methods=["POST"]),
    Route(f"{PREFIX}/faults", faults, methods=["GET", "PUT"]),
    Route(f"{PREFIX}/faults/script", fault_script, methods=["POST", "DELETE"]),
    Route(f"{PREFIX}/answers/script", answer_script, methods=["POST", "DELETE"]),
    Route(f"{PREFIX}/responses", responses, methods=["GET", "DELETE"]),
    Route(f"{PREFIX}/rate-limits", rate_limits, methods=["GET", "PUT"]),
    Route(f"{PREFIX}/webhook-settings", webhook_settings, methods=["GET", "PUT"]),
    Route(f"{PREFIX}/channels", channels, methods=["GET", "POST"]),
    Route(f"{PREFIX}/channels/{{channel_id}}", channel_detail, methods=["GET", "PATCH"]),
    *friend_routes,
]
