"""Insight API and per-unit statistics, computed from what the emulator recorded.

Sources: the request log (`emulator.requests`), each channel's delivery counts, friends and
link clicks. The emulator has no "opened" signal, so a delivered message counts as one
impression. Values LINE hides for privacy (under 20) are null, as on LINE.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from line_emulator import narrowcast
from line_emulator.http import (
    LineError,
    authenticate,
    check_rate_limit,
    get_emulator,
    retry_key_of,
)
from line_emulator.state import JST, Channel, Click, Emulator, Friend, RequestRecord

PRIVACY_FLOOR = 20
STATS_WINDOW = timedelta(days=14)  # per-message statistics stop updating after this
MAX_AGGREGATION_SPAN = timedelta(days=30)
DELIVERY_SINCE = date(2017, 3, 1)
FOLLOWERS_SINCE = date(2016, 11, 1)
UNIT_RE = re.compile(r"^[a-zA-Z0-9_]{1,30}$")
MAX_UNITS_PER_MONTH = 1000
URL_RE = re.compile(r"https?://[^\s\"'<>]+")
# Short prefecture names in JIS order, as the demographic endpoint reports them.
PREFECTURES = (
    "北海道", "青森", "岩手", "宮城", "秋田", "山形", "福島", "茨城", "栃木", "群馬",
    "埼玉", "千葉", "東京", "神奈川", "新潟", "富山", "石川", "福井", "山梨", "長野",
    "岐阜", "静岡", "愛知", "三重", "滋賀", "京都", "大阪", "兵庫", "奈良", "和歌山",
    "鳥取", "島根", "岡山", "広島", "山口", "徳島", "香川", "愛媛", "高知", "福岡",
    "佐賀", "長崎", "熊本", "大分", "宮崎", "鹿児島", "沖縄",
)  # fmt: skip
AGE_BANDS = (
    (0, 15, "from0to14"),
    *((low, low + 5, f"from{low}to{low + 4}") for low in range(15, 70, 5)),
    (70, 200, "from70"),
)
PERIOD_BANDS = (
    (0, 7, "within7days"),
    (7, 30, "within30days"),
    (30, 90, "within90days"),
    (90, 180, "within180days"),
    (180, 365, "within365days"),
    (365, 1_000_000, "over365days"),
)
DELIVERY_FIELDS = {
    "apiBroadcast": "broadcast",
    "apiPush": "push",
    "apiMulticast": "multicast",
    "apiNarrowcast": "narrowcast",
    "apiReply": "reply",
}


def private(value: int) -> int | None:
    return value if value >= PRIVACY_FLOOR else None


def _bad_param(name: str) -> LineError:
    return LineError(
        400,
        f"The value for the '{name}' parameter is invalid",
        [{"message": "invalid format", "property": name}],
    )


def parse_day(request: Request, name: str) -> date:
    raw = request.query_params.get(name, "")
    try:
        if len(raw) != 8 or not raw.isdigit():
            raise ValueError(raw)
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError:
        raise _bad_param(name) from None


def jst_today(emulator: Emulator) -> date:
    return emulator.now().astimezone(JST).date()


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=JST) + timedelta(days=1)


async def _open(request: Request, key: str) -> tuple[Emulator, Channel]:
    channel = await authenticate(request)
    emulator = get_emulator(request)
    check_rate_limit(emulator, channel, key)
    # Only the four send endpoints take a retry key; LINE answers 400 everywhere else.
    retry_key_of(request, supported=False)
    return emulator, channel


# ---------------------------------------------------------------- delivery and followers


async def message_delivery(request: Request) -> Response:
    emulator, channel = await _open(request, "insight.delivery")
    day = parse_day(request, "date")
    narrowcast.advance_all(emulator, channel)
    if day < DELIVERY_SINCE:
        return JSONResponse({"status": "out_of_service"})
    # LINE's counts are ready about a day later.
    if day >= jst_today(emulator):
        return JSONResponse({"status": "unready"})
    key = day.strftime("%Y%m%d")
    body: dict[str, Any] = {"status": "ready"}
    for name in ("broadcast", "targeting", "autoResponse", "welcomeResponse", "chat"):
        body[name] = 0  # sent from OA Manager, which the emulator does not have
    for name, endpoint in DELIVERY_FIELDS.items():
        body[name] = channel.delivery_counts.get((endpoint, key), 0)
    return JSONResponse(body)


async def followers(request: Request) -> Response:
    emulator, channel = await _open(request, "insight.followers")
    day = parse_day(request, "date")
    empty = {"followers": None, "targetedReaches": None, "blocks": None}
    if day < FOLLOWERS_SINCE:
        return JSONResponse({"status": "out_of_service", **empty})
    if day >= jst_today(emulator):
        return JSONResponse({"status": "unready", **empty})
    cutoff = end_of(day)
    added = [f for f in channel.friends.values() if f.followed_at and f.followed_at < cutoff]
    return JSONResponse(
        {
            "status": "ready",
            # First-time adds never decrease, so blocked friends still count here.
            "followers": len(added),
            "targetedReaches": sum(1 for f in added if f.status == "following"),
            "blocks": sum(1 for f in added if f.status == "blocked"),
        }
    )


# ---------------------------------------------------------------- demographic


def _shares(labels: Iterable[str], key: str, order: Iterable[str]) -> list[dict[str, Any]]:
    counts = Counter(labels)
    total = sum(counts.values())
    return [
        {key: label, "percentage": round(100 * counts[label] / total, 1)}
        for label in order
        if counts[label]
    ]


def _band(value: int | None, bands: Iterable[tuple[int, int, str]]) -> str:
    if value is not None:
        for low, high, label in bands:
            if low <= value < high:
                return label
    return "unknown"


def _area(code: str | None) -> str:
    if code and code.startswith("jp_") and code[3:].isdigit():
        return PREFECTURES[int(code[3:]) - 1]
    return code or "unknown"


def demographic_body(friends: list[Friend], now: datetime) -> dict[str, Any]:
    if len(friends) < PRIVACY_FLOOR:
        return {"available": False}
    ages = [label for _, _, label in AGE_BANDS] + ["unknown"]
    periods = [label for _, _, label in PERIOD_BANDS] + ["unknown"]
    areas = [_area(f.area) for f in friends]
    return {
        "available": True,
        "genders": _shares(
            (f.gender or "unknown" for f in friends), "gender", ("male", "female", "unknown")
        ),
        "ages": _shares((_band(f.age, AGE_BANDS) for f in friends), "age", ages),
        "areas": _shares(areas, "area", [a for a, _ in Counter(areas).most_common()]),
        "appTypes": _shares(
            (f.app_type or "others" for f in friends), "appType", ("ios", "android", "others")
        ),
        "subscriptionPeriods": _shares(
            (
                _band((now - f.followed_at).days if f.followed_at else None, PERIOD_BANDS)
                for f in friends
            ),
            "subscriptionPeriod",
            periods,
        ),
    }


async def demographic(request: Request) -> Response:
    emulator, channel = await _open(request, "insight.demographic")
    friends = [f for f in channel.friends.values() if f.following]
    return JSONResponse(demographic_body(friends, emulator.now()))


# ---------------------------------------------------------------- message events


def message_urls(messages: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(seq, url) for every distinct URL in each message, seq counted from 1."""
    found: list[tuple[int, str]] = []
    for seq, message in enumerate(messages, start=1):
        text = json.dumps(message, ensure_ascii=False)
        for url in dict.fromkeys(URL_RE.findall(text)):
            found.append((seq, url))
    return found


def _media(prefixes: Iterable[str]) -> dict[str, None]:
    # The emulator does not simulate video or audio playback.
    return dict.fromkeys(prefixes)


_MEDIA_KEYS = [
    "mediaPlayed",
    "mediaPlayed25Percent",
    "mediaPlayed50Percent",
    "mediaPlayed75Percent",
    "mediaPlayed100Percent",
]
_MEDIA_KEYS += ["unique" + k[0].upper() + k[1:] for k in _MEDIA_KEYS]


def event_stats(records: list[RequestRecord], clicks: list[Click], per_unit: bool) -> Any:
    """messages[] and clicks[] for a set of requests sharing the same message layout."""
    seqs = max((len(r.messages) for r in records), default=0)
    messages = []
    for seq in range(1, seqs + 1):
        reached = [r for r in records if len(r.messages) >= seq]
        entry: dict[str, Any] = {"seq": seq}
        entry["impression"] = private(sum(len(r.recipients) for r in reached))
        if per_unit:
            entry["uniqueImpression"] = private(len({u for r in reached for u in r.recipients}))
        entry.update(_media(_MEDIA_KEYS))
        messages.append(entry)
    seq_of: dict[str, int] = {}
    for record in records:
        for seq, url in message_urls(record.messages):
            seq_of.setdefault(url, seq)
    by_url: dict[str, list[Click]] = {}
    for click in clicks:
        by_url.setdefault(click.url, []).append(click)
    click_rows = [
        {
            "seq": seq_of.get(url, 1),
            "url": url,
            "click": private(len(rows)),
            "uniqueClick": private(len({c.user_id for c in rows})),
            "uniqueClickOfRequest": private(len({c.user_id for c in rows})),
        }
        for url, rows in by_url.items()
    ]
    return messages, sorted(click_rows, key=lambda row: (row["seq"], row["url"]))


def _clicks_for(channel: Channel, records: list[RequestRecord]) -> list[Click]:
    windows = {r.request_id: r.time + STATS_WINDOW for r in records}
    return [
        c for c in channel.clicks if c.request_id in windows and c.time <= windows[c.request_id]
    ]


async def message_event(request: Request) -> Response:
    emulator, channel = await _open(request, "insight.event")
    rid = request.query_params.get("requestId", "")
    if not rid:
        raise _bad_param("requestId")
    job = narrowcast.find_job(emulator, channel, rid)
    record = emulator.requests.get(rid)
    if record is not None and (
        record.channel_id != channel.channel_id
        or record.endpoint not in ("broadcast", "narrowcast")
    ):
        record = None
    if record is None and job is None:
        raise LineError(404, "Not found")
    now = emulator.now()
    finished = job is None or job.phase(now) in ("succeeded", "failed")
    records = [record] if record is not None else []
    clicks = _clicks_for(channel, records)
    messages, click_rows = event_stats(records, clicks, per_unit=False)
    sent = record.time if record is not None else job.accepted if job else now
    delivered = len(record.recipients) if record is not None else 0
    overview = {
        "requestId": rid,
        "timestamp": int(sent.timestamp()),
        # `delivered` shows small numbers too, but stays null until sending has finished.
        "delivered": delivered if finished else None,
        "uniqueImpression": private(delivered),
        "uniqueClick": private(len({c.user_id for c in clicks})),
        "uniqueMediaPlayed": None,
        "uniqueMediaPlayed100Percent": None,
    }
    return JSONResponse({"overview": overview, "messages": messages, "clicks": click_rows})


# ---------------------------------------------------------------- custom aggregation units


def units_of(record: RequestRecord) -> list[str]:
    units = record.extra.get("customAggregationUnits") or []
    return [u for u in units if isinstance(u, str)]


def unit_records(emulator: Emulator, channel: Channel) -> Iterable[RequestRecord]:
    for record in emulator.requests.values():
        mine = record.channel_id == channel.channel_id
        if mine and record.endpoint in ("push", "multicast") and units_of(record):
            yield record


async def aggregation(request: Request) -> Response:
    emulator, channel = await _open(request, "insight.aggregation")
    unit = request.query_params.get("customAggregationUnit", "")
    if not UNIT_RE.match(unit):
        raise _bad_param("customAggregationUnit")
    first, last = parse_day(request, "from"), parse_day(request, "to")
    if last < first or last - first > MAX_AGGREGATION_SPAN:
        raise _bad_param("to")
    start, stop = end_of(first) - timedelta(days=1), end_of(last)
    records = [
        r for r in unit_records(emulator, channel) if unit in units_of(r) and start <= r.time < stop
    ]
    clicks = _clicks_for(channel, records)
    messages, click_rows = event_stats(records, clicks, per_unit=True)
    overview = {
        "uniqueImpression": private(len({u for r in records for u in r.recipients})),
        "uniqueClick": private(len({c.user_id for c in clicks})),
        "uniqueMediaPlayed": None,
        "uniqueMediaPlayed100Percent": None,
    }
    return JSONResponse({"overview": overview, "messages": messages, "clicks": click_rows})


def _month_units(channel: Channel, month: str) -> dict[str, None]:
    """Unit names used per JST month, in first-use order (an index, so sends stay O(1))."""
    by_month: dict[str, dict[str, None]] = channel.extensions.setdefault("aggregation_units", {})
    return by_month.setdefault(month, {})


def attach_units(channel: Channel, record: RequestRecord, units: Any) -> None:
    """Tag a push/multicast with its unit names; from the month's 1,001st distinct name on,
    LINE still delivers but silently drops the name."""
    if not isinstance(units, list):
        return
    used = _month_units(channel, record.time.astimezone(JST).strftime("%Y%m"))
    kept = []
    for unit in units:
        if isinstance(unit, str) and (unit in used or len(used) < MAX_UNITS_PER_MONTH):
            used[unit] = None
            kept.append(unit)
    if kept:
        record.extra["customAggregationUnits"] = kept


def units_this_month(emulator: Emulator, channel: Channel) -> list[str]:
    return list(_month_units(channel, emulator.month_key()))


async def aggregation_info(request: Request) -> Response:
    emulator, channel = await _open(request, "aggregation.info")
    return JSONResponse({"numOfCustomAggregationUnits": len(units_this_month(emulator, channel))})


async def aggregation_list(request: Request) -> Response:
    emulator, channel = await _open(request, "aggregation.list")
    raw_limit = request.query_params.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise _bad_param("limit")
    cursors: dict[str, int] = channel.extensions.setdefault("aggregation_cursors", {})
    start = request.query_params.get("start")
    offset = 0
    if start is not None:
        if start not in cursors:
            raise _bad_param("start")
        offset = cursors[start]
    names = units_this_month(emulator, channel)
    page = names[offset : offset + int(raw_limit)]
    body: dict[str, Any] = {"customAggregationUnits": page}
    if offset + len(page) < len(names):
        token = secrets.token_urlsafe(16)
        cursors[token] = offset + len(page)
        body["next"] = token
    return JSONResponse(body)


routes: list[BaseRoute] = [
    Route("/v2/bot/insight/message/delivery", message_delivery, methods=["GET"]),
    Route("/v2/bot/insight/followers", followers, methods=["GET"]),
    Route("/v2/bot/insight/demographic", demographic, methods=["GET"]),
    Route("/v2/bot/insight/message/event", message_event, methods=["GET"]),
    Route("/v2/bot/insight/message/event/aggregation", aggregation, methods=["GET"]),
    Route("/v2/bot/message/aggregation/info", aggregation_info, methods=["GET"]),
    Route("/v2/bot/message/aggregation/list", aggregation_list, methods=["GET"]),
]
