"""Login throttling: wrong passwords lock one username from one address, nobody else."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from otodoke.web.tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _login(client: Client, username: str, password: str, ip: str = "203.0.113.7") -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail_until_locked(client: Client, username: str, ip: str = "203.0.113.7") -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, username, "wrong-password", ip)


def test_right_password_is_refused_after_too_many_wrong_ones() -> None:
    make_user("hana")
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    _fail_until_locked(client, "hana")

    response = _login(client, "hana", PASSWORD)

    assert response.status_code == 429
    body = response.content.decode()
    assert "ログインの失敗が続いたため" in body
    assert f"{settings.AXES_COOLOFF_TIME.seconds // 60}分間" in body
    assert "_auth_user_id" not in client.session


def test_fewer_wrong_passwords_than_the_limit_still_let_the_right_one_in() -> None:
    make_user("hana")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "hana", "wrong-password")

    response = _login(client, "hana", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_another_user_from_the_same_address_is_not_locked() -> None:
    make_user("hana")
    make_user("taro")
    _fail_until_locked(Client(), "hana")

    client = Client()
    response = _login(client, "taro", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_the_same_user_from_another_address_is_not_locked() -> None:
    make_user("hana")
    _fail_until_locked(Client(), "hana", ip="203.0.113.7")

    client = Client()
    response = _login(client, "hana", PASSWORD, ip="198.51.100.20")

    assert response.status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout() -> None:
    make_user("hana")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            "/login/",
            {"username": "hana", "password": "wrong"},
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )

    response = client.post(
        "/login/",
        {"username": "hana", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )

    assert response.status_code == 429


def test_lockout_message_is_english_for_english_staff() -> None:
    make_user("hana")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    _fail_until_locked(client, "hana")

    response = _login(client, "hana", PASSWORD)

    assert "Too many failed logins for hana" in response.content.decode()
