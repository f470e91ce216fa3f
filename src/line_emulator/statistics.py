"""Quota and per-day delivery counts: /v2/bot/message/quota*, /v2/bot/message/delivery/*."""

from __future__ import annotations

from datetime import date, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator.http import LineError, authenticate, check_rate_limit, get_emulator
from line_emulator.state import JST

DELIVERY_KINDS = frozenset({"reply", "push", "multicast", "broadcast"})
# LINE has no statistics before this date.
FIRST_DAY = date(2018, 3, 31)


async def quota(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    check_rate_limit(emulator, channel, "quota")
    if channel.config.quota_type == "none":
        return JSONResponse({"type": "none"})
    if not channel.config.quota_value_shown:
        return JSONResponse({"type": "limited"})
    return JSONResponse({"type": "limited", "value": channel.config.quota_value})


async def consumption(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    check_rate_limit(emulator, channel, "quota.consumption")
    return JSONResponse({"totalUsage": emulator.quota_usage(channel)})


async def delivery_count(request: Request) -> Response:
    emulator = get_emulator(request)
    channel = await authenticate(request)
    kind = request.path_params["kind"]
    if kind not in DELIVERY_KINDS:
        raise LineError(404, "Not found")
    check_rate_limit(emulator, channel, f"delivery.{kind}")
    raw = request.query_params.get("date", "")
    try:
        day = datetime.strptime(raw, "%Y%m%d").date()  # noqa: DTZ007  # a calendar date in JST
    except ValueError:
        raise LineError(
            400,
            "The request body has 1 error(s)",
            [{"message": "Must be in yyyyMMdd format", "property": "date"}],
        ) from None
    if day < FIRST_DAY:
        return JSONResponse({"status": "out_of_service"})
    # LINE finalises a day's counts the next day (JST); until then the status is "unready".
    if day >= emulator.now().astimezone(JST).date():
        return JSONResponse({"status": "unready"})
    success = channel.delivery_counts.get((kind, raw), 0)
    return JSONResponse({"status": "ready", "success": success})


routes: list[BaseRoute] = [
    Route("/v2/bot/message/quota", quota, methods=["GET"]),
    Route("/v2/bot/message/quota/consumption", consumption, methods=["GET"]),
    Route("/v2/bot/message/delivery/{kind:str}", delivery_count, methods=["GET"]),
]
