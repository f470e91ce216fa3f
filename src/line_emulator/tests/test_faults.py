import uuid

import httpx
import pytest

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text

# A dropped connection reaches the client as a close without an answer or, when the close races
# the request's last bytes, as a reset.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


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

    with pytest.raises(DROPPED):
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

    with pytest.raises(DROPPED):
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


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("400", 400, "The request body has 1 error(s)"),
        ("401", 401, "Authentication failed due to the following reason: invalid token."),
        ("403", 403, "Access to this API is not available for your account"),
    ],
)
def test_scripted_client_errors_answer_with_lines_body_and_deliver_nothing(
    api: httpx.Client,
    control: httpx.Client,
    emulator: EmulatorServer,
    kind: str,
    status: int,
    message: str,
) -> None:
    users = make_friends(control, 2)
    httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": [kind]})
    key = {"X-Line-Retry-Key": str(uuid.uuid4())}
    body = {"to": users, "messages": text()}

    failed = api.post("/v2/bot/message/multicast", json=body, headers=key)

    assert failed.status_code == status
    assert failed.json()["message"].startswith(message)
    assert failed.headers["x-line-request-id"]
    if kind == "400":
        assert failed.json()["details"] == [
            {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
        ]
    assert control.get("/deliveries").json()["histogram"] == {"0": 2}
    # Nothing was accepted, so the key is still free.
    assert api.post("/v2/bot/message/multicast", json=body, headers=key).status_code == 200


def test_a_share_of_requests_gets_400(api: httpx.Client, emulator: EmulatorServer) -> None:
    httpx.put(f"{emulator.url}/_emulator/faults", json={"error_400": 1.0})
    assert api.get("/v2/bot/message/quota").status_code == 400
    httpx.put(f"{emulator.url}/_emulator/faults", json={"error_400": 0.0})
    assert api.get("/v2/bot/message/quota").status_code == 200


def test_every_answer_is_tallied_with_the_clients_port(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 1)
    httpx.put(
        f"{emulator.url}/_emulator/rate-limits",
        json={"enabled": True, "overrides": {"multicast": "1/s,burst=1"}},
    )
    httpx.post(f"{emulator.url}/_emulator/faults/script", json={"faults": ["none", "drop-before"]})
    key = str(uuid.uuid4())
    body = {"to": users, "messages": text()}
    assert (
        api.post(
            "/v2/bot/message/multicast", json=body, headers={"X-Line-Retry-Key": key}
        ).status_code
        == 200
    )
    with pytest.raises(DROPPED):
        api.post("/v2/bot/message/multicast", json=body)
    assert api.post("/v2/bot/message/multicast", json=body).status_code == 429

    log = httpx.get(f"{emulator.url}/_emulator/responses").json()

    assert log["counts"] == {"POST /v2/bot/message/multicast": {"200": 1, "dropped": 1, "429": 1}}
    first = log["requests"][0]
    assert (first["retry_key"], first["fault"]) == (key, None)
    assert log["requests"][1]["fault"] == "drop-before"
    assert all(isinstance(r["client_port"], int) for r in log["requests"])
    httpx.delete(f"{emulator.url}/_emulator/responses")
    assert httpx.get(f"{emulator.url}/_emulator/responses").json()["counts"] == {}


def test_a_scripted_answer_replaces_the_next_matching_request_once(
    api: httpx.Client, control: httpx.Client, emulator: EmulatorServer
) -> None:
    users = make_friends(control, 2)
    canned = {"userIds": ["", "bad"], "next": "same"}
    scripted = httpx.post(
        f"{emulator.url}/_emulator/answers/script",
        json={"answers": [{"method": "get", "path": "/v2/bot/followers/ids", "body": canned}]},
    )
    assert scripted.status_code == 200
    assert api.get("/v2/bot/profile/" + users[0]).status_code == 200  # other paths: real

    first = api.get("/v2/bot/followers/ids")
    second = api.get("/v2/bot/followers/ids")

    assert first.json() == canned
    assert set(second.json()["userIds"]) == set(users)  # used once, then the real answer
    log = httpx.get(f"{emulator.url}/_emulator/responses").json()["requests"]
    faults = [r["fault"] for r in log if r["path"] == "/v2/bot/followers/ids"]
    assert faults == ["scripted-answer", None]


def test_a_malformed_answer_script_is_refused_naming_the_entry(
    emulator: EmulatorServer,
) -> None:
    response = httpx.post(
        f"{emulator.url}/_emulator/answers/script",
        json={"answers": [{"method": "GET", "path": "/v2/bot/info", "body": {}}, {"path": "x"}]},
    )
    assert response.status_code == 400
    assert "answers[1]" in response.text
