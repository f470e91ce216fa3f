"""`--state-file`: an emulator restarted on the same file still has its friends, what they
received, its retry keys (a retry after the restart answers 409) and its quota usage; a damaged
file is set aside instead of keeping the emulator from starting."""

from __future__ import annotations

import asyncio
import copy
import uuid
from pathlib import Path

import httpx
from starlette.applications import Starlette

from line_emulator.app import create_app
from line_emulator.friends import create_friends
from line_emulator.persist import keep_saving
from line_emulator.state import Emulator
from line_emulator.testing import TEST_CHANNEL_ID, TEST_TOKEN, default_test_config, serving

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
FRIENDS = f"/_emulator/channels/{TEST_CHANNEL_ID}/friends"


def _app(state_file: Path) -> Starlette:
    config = default_test_config()
    config.channels[0].quota_type, config.channels[0].quota_value = "limited", 100
    return create_app(copy.deepcopy(config), state_file=state_file)


def test_friends_messages_retry_keys_and_quota_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator-state.json"
    retry_key = str(uuid.uuid4())
    with serving(_app(state_file)) as url, httpx.Client(base_url=url, timeout=10) as client:
        created = client.post(FRIENDS, json={"count": 2}).json()["friends"]
        ids = [f["user_id"] for f in created]
        sent = client.post(
            "/v2/bot/message/multicast",
            headers={**AUTH, "X-Line-Retry-Key": retry_key},
            json={"to": ids, "messages": [{"type": "text", "text": "お知らせ"}]},
        )
        assert sent.status_code == 200, sent.text
    assert state_file.stat().st_mode & 0o777 == 0o600

    with serving(_app(state_file)) as url, httpx.Client(base_url=url, timeout=10) as client:
        listed = client.get(FRIENDS).json()
        assert {f["user_id"] for f in listed["friends"]} == set(ids)
        for user_id in ids:
            received = client.get(f"{FRIENDS}/{user_id}/messages").json()["received"]
            assert [r["messages"][0]["text"] for r in received] == ["お知らせ"]
        again = client.post(
            "/v2/bot/message/multicast",
            headers={**AUTH, "X-Line-Retry-Key": retry_key},
            json={"to": ids, "messages": [{"type": "text", "text": "お知らせ"}]},
        )
        assert again.status_code == 409  # the key was accepted before the restart
        consumption = client.get("/v2/bot/message/quota/consumption", headers=AUTH).json()
        assert consumption["totalUsage"] == 2
        # Describing a known friend again (what a restarted demo does) keeps what it received.
        client.post(FRIENDS, json={"friends": [{"user_id": ids[0], "display_name": "花子"}]})
        received = client.get(f"{FRIENDS}/{ids[0]}/messages").json()["received"]
        assert len(received) == 1
        assert client.get(f"{FRIENDS}/{ids[0]}").json()["display_name"] == "花子"


def test_a_damaged_state_file_is_set_aside(tmp_path: Path) -> None:
    state_file = tmp_path / "emulator-state.json"
    state_file.write_text("{not json")
    with serving(_app(state_file)) as url:
        assert httpx.get(f"{url}{FRIENDS}").json()["total"] == 0
    assert (tmp_path / "emulator-state.json.damaged").read_text() == "{not json"
    assert state_file.exists()  # saved afresh at shutdown


def test_keep_saving_writes_changes_while_running(tmp_path: Path) -> None:
    """Saved while running, not only at shutdown: a killed emulator loses at most seconds."""
    emulator = Emulator(default_test_config())
    state_file = tmp_path / "state.json"

    async def scenario() -> None:
        task = asyncio.create_task(keep_saving(emulator, state_file, every=0.05))
        await asyncio.sleep(0.1)
        assert not state_file.exists()  # nothing changed yet
        create_friends(emulator, emulator.channels[TEST_CHANNEL_ID], 3)
        await asyncio.sleep(0.3)
        assert state_file.exists()
        task.cancel()

    asyncio.run(scenario())
    assert '"user_id"' in state_file.read_text()
