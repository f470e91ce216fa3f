import httpx

from line_emulator.testing import EmulatorServer
from line_emulator.tests.conftest import make_friends, text


def test_text_over_5000_utf16_units_is_rejected_with_its_property(
    api: httpx.Client, control: httpx.Client
) -> None:
    [user] = make_friends(control, 1)
    # 🍎 is two UTF-16 code units: 2500 of them are exactly the limit.
    fits = api.post("/v2/bot/message/push", json={"to": user, "messages": text("🍎" * 2500)})
    too_long = api.post(
        "/v2/bot/message/push", json={"to": user, "messages": text("hi") + text("🍎" * 2501)}
    )

    assert fits.status_code == 200
    assert too_long.status_code == 400
    assert too_long.json() == {
        "message": "The request body has 1 error(s)",
        "details": [
            {"message": "Length must be between 0 and 5000", "property": "messages[1].text"}
        ],
    }
    assert control.get(f"/friends/{user}").json()["received"] == 1


def test_multicast_to_501_recipients_is_rejected(api: httpx.Client) -> None:
    users = [f"U{n:032x}" for n in range(501)]
    response = api.post("/v2/bot/message/multicast", json={"to": users, "messages": text()})
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "to"


def test_multicast_names_the_malformed_recipient(api: httpx.Client) -> None:
    users = [f"U{n:032x}" for n in range(3)] + ["C123"]
    response = api.post("/v2/bot/message/multicast", json={"to": users, "messages": text()})
    assert response.status_code == 400
    assert response.json()["message"].startswith(
        "The property, to[3], in the request body is invalid"
    )


def test_messages_count_and_nested_limits(api: httpx.Client) -> None:
    six = api.post("/v2/bot/message/validate/push", json={"messages": text() * 6})
    template = {
        "type": "template",
        "altText": "a",
        "template": {"type": "buttons", "text": "t", "actions": [{"type": "uri", "label": "x"}]},
    }
    bad_action = api.post("/v2/bot/message/validate/push", json={"messages": [template]})
    http_image = api.post(
        "/v2/bot/message/validate/multicast",
        json={
            "messages": [
                {"type": "image", "originalContentUrl": "http://x", "previewImageUrl": "https://x"}
            ]
        },
    )

    assert six.json()["details"] == [
        {"message": "Size must be between 1 and 5", "property": "messages"}
    ]
    assert bad_action.json()["details"][0]["property"] == "messages[0].template.actions[0].uri"
    assert http_image.json()["details"][0]["property"] == "messages[0].originalContentUrl"


def test_flex_carousel_over_12_bubbles_is_rejected(api: httpx.Client) -> None:
    bubble = {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "x"}]},
    }
    flex = {
        "type": "flex",
        "altText": "a",
        "contents": {"type": "carousel", "contents": [bubble] * 13},
    }
    response = api.post("/v2/bot/message/validate/broadcast", json={"messages": [flex]})
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "messages[0].contents.contents"


def test_invalid_json_is_a_400(api: httpx.Client) -> None:
    response = api.post(
        "/v2/bot/message/push", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body could not be parsed as JSON")


def test_body_over_2_mb_is_413(api: httpx.Client) -> None:
    response = api.post("/v2/bot/message/push", content=b"x" * (2 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert "x-line-request-id" in response.headers


def test_missing_or_wrong_token_is_401(emulator: EmulatorServer) -> None:
    missing = httpx.post(f"{emulator.url}/v2/bot/message/broadcast", json={"messages": text()})
    wrong = httpx.get(
        f"{emulator.url}/v2/bot/message/quota", headers={"Authorization": "Bearer nope"}
    )
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["message"].startswith(
        "Authentication failed due to the following reason:"
    )
    assert "x-line-request-id" in missing.headers


def test_json_the_fast_parser_refuses_is_still_read_as_python_reads_it(
    api: httpx.Client, control: httpx.Client
) -> None:
    [user] = make_friends(control, 1)
    headers = {"content-type": "application/json"}
    body = '{"to": "%s", "messages": [{"type": "text", "text": "hi"}], "n": %s}'
    # A UTF-8 byte-order mark, a number over 64 bits, NaN: json.loads takes all three.
    bom = api.post("/v2/bot/message/push", content=b"\xef\xbb\xbf" + (body % (user, 1)).encode())
    huge = api.post("/v2/bot/message/push", content=body % (user, 2**70), headers=headers)
    nan = api.post("/v2/bot/message/push", content=body % (user, "NaN"), headers=headers)
    broken = api.post("/v2/bot/message/push", content=b'{\n  "to": ]', headers=headers)

    assert [r.status_code for r in (bom, huge, nan)] == [200, 200, 200]
    assert control.get(f"/friends/{user}").json()["received"] == 3
    assert broken.status_code == 400
    assert broken.json() == {
        "message": "The request body could not be parsed as JSON (line: 2, column: 9)"
    }


def test_identical_messages_with_a_huge_number_are_validated_like_any_other(
    api: httpx.Client,
) -> None:
    # orjson cannot write ints over 64 bits, so such messages take the validation cache's
    # fallback key; the result must match a first-time validation.
    message = '{"messages": [{"type": "text", "text": "%s", "x": %d}]}'
    long_text = "あ" * 5001
    headers = {"content-type": "application/json"}
    for _ in range(2):
        ok = api.post(
            "/v2/bot/message/validate/push", content=message % ("hi", 2**70), headers=headers
        )
        bad = api.post(
            "/v2/bot/message/validate/push", content=message % (long_text, 2**70), headers=headers
        )
        assert ok.status_code == 200
        assert bad.status_code == 400
        assert bad.json()["details"] == [
            {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
        ]
