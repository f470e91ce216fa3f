"""`python -m line_emulator` / `otodoke emulator`: serve the LINE emulator with uvicorn."""

from __future__ import annotations

import argparse
import importlib.util
import secrets
from pathlib import Path

import uvicorn

from line_emulator.app import create_app
from line_emulator.config import (
    ChannelConfig,
    EmulatorConfig,
    FaultConfig,
    LatencyConfig,
    RateLimit,
)
from line_emulator.faults import quiet_dropped_connection_logs


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("a share between 0 and 1")
    return value


def _channel(text: str) -> ChannelConfig:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise argparse.ArgumentTypeError("expected TOKEN:SECRET or TOKEN:SECRET:CHANNEL_ID")
    channel_id = parts[2] if len(parts) == 3 else str(1_000_000_000 + secrets.randbelow(10**9))
    return ChannelConfig(channel_id=channel_id, access_token=parts[0], channel_secret=parts[1])


def _rate_override(text: str) -> tuple[str, RateLimit]:
    key, sep, rate = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected ENDPOINT=RATE[/s|/min|/h][,burst=N]")
    try:
        return key, RateLimit.parse(rate)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="line_emulator",
        description="A local stand-in for the LINE Messaging API (api.line.me), with simulated "
        "friends, webhooks, rate limits, quota and injectable faults. The control API and phone "
        "pages are under /_emulator.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to bind (default 8081)")
    parser.add_argument(
        "--channel",
        action="append",
        type=_channel,
        default=[],
        metavar="TOKEN:SECRET[:CHANNEL_ID]",
        help="register a channel (repeatable); without any, one channel with token "
        "'emulator-token' and secret 'emulator-secret' is created",
    )
    parser.add_argument("--webhook-url", help="webhook URL for every channel given here")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="extra random latency, 0..N ms"
    )
    parser.add_argument("--fault-500", type=_share, default=0.0, help="share of 500 answers (0-1)")
    parser.add_argument("--fault-429", type=_share, default=0.0, help="share of injected 429s")
    parser.add_argument(
        "--fault-400", type=_share, default=0.0, help="share of 400s with LINE's error body"
    )
    parser.add_argument(
        "--fault-timeout",
        type=_share,
        default=0.0,
        help="share of requests that stall for --timeout-seconds (half before acceptance, "
        "half after, see --after-accept)",
    )
    parser.add_argument(
        "--fault-drop",
        type=_share,
        default=0.0,
        help="share of requests whose connection is closed without a complete answer",
    )
    parser.add_argument(
        "--after-accept",
        type=_share,
        default=0.5,
        help="share of timeouts and drops that happen after the request was processed "
        "(delivered, retry key locked); default 0.5",
    )
    parser.add_argument(
        "--timeout-seconds", type=float, default=30.0, help="stall of a timeout fault (default 30)"
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        type=_rate_override,
        default=[],
        metavar="ENDPOINT=RATE[/s|/min|/h][,burst=N]",
        help="override one endpoint's rate limit, e.g. multicast=50/s or broadcast=10/min "
        "(repeatable; keys: push, multicast, reply, broadcast, narrowcast, audience, insight, "
        "richmenu.create, richmenu.list, other, ...)",
    )
    parser.add_argument("--no-rate-limits", action="store_true", help="disable all rate limits")
    parser.add_argument(
        "--quota", type=int, help="monthly message quota per channel (default: unlimited)"
    )
    parser.add_argument(
        "--friends", type=int, default=0, help="create N following friends per channel at start"
    )
    parser.add_argument("--seed", type=int, help="random seed for faults, jitter and friends")
    parser.add_argument(
        "--state-file",
        type=Path,
        metavar="FILE",
        help="keep friends, what they received, retry keys and quota usage in FILE across "
        "restarts (restored at start, saved while running and at shutdown)",
    )
    parser.add_argument(
        "--log-level", default="warning", help="uvicorn log level (default warning)"
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    channels: list[ChannelConfig] = args.channel or [
        ChannelConfig("1000000000", "emulator-token", "emulator-secret")
    ]
    for channel in channels:
        channel.webhook_url = args.webhook_url
        if args.quota is None:
            channel.quota_type = "none"
        else:
            channel.quota_type, channel.quota_value = "limited", args.quota
    faults = FaultConfig(
        error_500=args.fault_500,
        error_429=args.fault_429,
        error_400=args.fault_400,
        timeout=args.fault_timeout,
        drop=args.fault_drop,
        timeout_after_accept=args.after_accept,
        drop_after_accept=args.after_accept,
        timeout_seconds=args.timeout_seconds,
    )
    return EmulatorConfig(
        channels=channels,
        latency=LatencyConfig(args.latency_ms, args.jitter_ms),
        faults=faults,
        rate_limits=dict(args.rate_limit),
        rate_limits_enabled=not args.no_rate_limits,
        default_quota_type="none" if args.quota is None else "limited",
        default_quota_value=args.quota or 0,
        seed=args.seed,
        initial_friends=args.friends,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    app = create_app(config, state_file=args.state_file)
    quiet_dropped_connection_logs()
    fast = importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        loop="uvloop" if fast else "asyncio",
        http="httptools" if fast else "h11",
        access_log=False,
    )
    return 0
