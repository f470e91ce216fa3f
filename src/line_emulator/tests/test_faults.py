import uuid

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text


def test_with_every_request_failing_nothing_is_delivered(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 3)
    httpx.put(f"{emulator.url}/_emulator/faults", json={"error_500": 1.0})
    statuses = {
        api.post("/v2/bot/message/multicast", json={"to": users, "messages": text()}).status_code
        for _ in range(5)
    }
    assert statuses == {500}
    httpx.put(f"{emulator.url}/_emulator/faults", json={"error_500": 0.0})
    assert control.get("/deliveries").json()["histogram"] == {"0": 3}


def test_accepted_then_dropped_request_is_delivered_once_and_its_retry_gets_409(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 3)
    httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": ["drop-after"]})
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": users, "messages": text()}

    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v2/bot/message/multicast", json=body, headers=key)
    retry = api.post("/v2/bot/message/multicast", json=body, headers=key)

    assert retry.status_code == 409
    assert control.get("/deliveries").json()["histogram"] == {"1": 3}


def test_request_dropped_before_acceptance_can_be_retried_with_its_key(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 2)
    httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": ["drop-before"]})
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": users, "messages": text()}

    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v2/bot/message/multicast", json=body, headers=key)
    assert control.get("/deliveries").json()["histogram"] == {"0": 2}
    assert api.post("/v2/bot/message/multicast", json=body, headers=key).status_code == 200
    assert control.get("/deliveries").json()["histogram"] == {"1": 2}


def test_timeout_after_acceptance_delivers_although_the_client_gave_up(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    [user] = make_friends(control, 1)
    httpx.put(f"{emulator.url}/_emulator/faults", json={"timeout_seconds": 1.0})
    httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": ["timeout-after"]})
    with pytest.raises(httpx.ReadTimeout):
        api.post("/v2/bot/message/push", json={"to": user, "messages": text()}, timeout=0.2)
    assert control.get(f"/friends/{user}").json()["received"] == 1


def test_injected_429_and_latency(api: httpx.Client, emulator: EmulatorServer) -> None:
    httpx.put(f"{emulator.url}/_emulator/faults", json={"error_429": 1.0, "latency_ms": 50})
    response = api.get("/v2/bot/message/quota")
    assert response.status_code == 429
    assert response.elapsed.total_seconds() >= 0.05


def test_control_api_never_gets_faults(control: httpx.Client, emulator: EmulatorServer) -> None:
    httpx.put(f"{emulator.url}/_emulator/faults", json={"error_500": 1.0})
    assert control.get("/friends").status_code == 200
