"""The real `otodoke` process: subcommand help describes the command and its operations
without Django's boilerplate options (which still work), and the CLI picks one language:
--lang, else LC_ALL/LC_MESSAGES/LANG, else Japanese."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from otodoke.cli import pick_language

BOILERPLATE = ("--settings", "--pythonpath", "--traceback", "--no-color", "--force-color")


def _otodoke(*args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": lang}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    return subprocess.run(
        [sys.executable, "-m", "otodoke", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("command", "promised"),
    [
        (["segment", "count"], ["count a definition or a saved segment", "--definition"]),
        (["segment"], ["Count or preview a segment definition", "count a definition"]),
        (
            ["import"],
            ["Columns are matched to fields", "external_id, name", "customer_id, kind",
             "attributes.KEY", "--tag-separator", "--allow-errors"],
        ),
        (["workspace", "create"], ["create a workspace", "--channel-id"]),
        (["campaign"], ["Send a campaign and follow its progress"]),
    ],
)  # fmt: skip
def test_subcommand_help_describes_it_without_the_boilerplate(
    command: list[str], promised: list[str]
) -> None:
    result = _otodoke("--lang", "en", *command, "--help")
    assert result.returncode == 0, result.stderr
    missing = [text for text in promised if text not in result.stdout]
    assert not missing, result.stdout
    for option in (*BOILERPLATE, "--skip-checks", "--verbosity"):
        assert option not in result.stdout, (option, result.stdout)


def test_help_is_japanese_by_default_and_english_from_lang() -> None:
    japanese = _otodoke("segment", "count", "--help")
    assert "条件または保存したセグメントの件数" in japanese.stdout
    english = _otodoke("segment", "count", "--help", lang="en_US.UTF-8")
    assert "count a definition or a saved segment" in english.stdout
    overview = _otodoke("--help")
    assert "使い方: otodoke" in overview.stdout and "配信" in overview.stdout
    assert "usage: otodoke <command>" in _otodoke("--lang", "en", "--help").stdout


def test_hidden_boilerplate_options_still_work() -> None:
    result = _otodoke("init", "--print-keys", "--no-color", "-v", "0", "--traceback")
    assert result.returncode == 0, result.stderr
    assert "SECRET_KEY=" in result.stdout


@pytest.mark.parametrize(
    ("args", "environ", "expected"),
    [
        (["--lang", "en", "x"], {"LANG": "ja_JP.UTF-8"}, ("en", ["x"])),
        (["x", "--lang=ja"], {"LANG": "en_US.UTF-8"}, ("ja", ["x"])),
        (["x"], {"LANG": "en_US.UTF-8"}, ("en", ["x"])),
        (["x"], {"LC_ALL": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, ("ja", ["x"])),
        (["x"], {"LANG": "C.UTF-8"}, ("ja", ["x"])),
        (["x"], {}, ("ja", ["x"])),
        (["x", "--lang", "fr"], {}, ("ja", ["x"])),
        (["x", "--", "--lang", "en"], {}, ("ja", ["x", "--", "--lang", "en"])),
    ],
)
def test_pick_language(
    args: list[str], environ: dict[str, str], expected: tuple[str, list[str]]
) -> None:
    assert pick_language(args, environ) == expected


def test_argparse_errors_speak_the_same_language() -> None:
    japanese = _otodoke("segment", "count")
    assert japanese.returncode == 2
    assert "次の引数が必要です: --workspace" in japanese.stderr
    assert "使い方: otodoke segment count" in japanese.stderr
    english = _otodoke("segment", "count", lang="en_US.UTF-8")
    assert "the following arguments are required: --workspace" in english.stderr
