from line_emulator.cli import build_parser, config_from_args


def test_cli_options_become_the_emulator_config() -> None:
    args = build_parser().parse_args(
        [
            "--channel", "tok:sec:123",
            "--webhook-url", "http://localhost:8000/line/webhook",
            "--fault-500", "0.1",
            "--fault-drop", "0.05",
            "--rate-limit", "multicast=50/s,burst=10",
            "--rate-limit", "broadcast=10/min",
            "--quota", "1000",
            "--friends", "5",
            "--seed", "7",
        ]
    )  # fmt: skip
    config = config_from_args(args)
    [channel] = config.channels
    assert (channel.access_token, channel.channel_secret, channel.channel_id) == (
        "tok",
        "sec",
        "123",
    )
    assert channel.webhook_url == "http://localhost:8000/line/webhook"
    assert (channel.quota_type, channel.quota_value) == ("limited", 1000)
    assert config.faults.error_500 == 0.1 and config.faults.drop == 0.05
    assert config.rate_limits["multicast"].capacity == 10
    assert config.rate_limits["broadcast"].tokens_per_second == 10 / 60
    assert (config.initial_friends, config.seed) == (5, 7)
