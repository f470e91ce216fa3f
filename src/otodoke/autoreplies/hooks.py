"""Where auto-replies listen: the line app's signals, connected once in AppConfig.ready.
Each receiver is one call into `replies`. The line app answers its own keywords (account
link, unlink) before it announces a message, so those keep their meaning."""

from __future__ import annotations

from typing import Any

from otodoke.line import signals as line_signals

UID = "otodoke.autoreplies"


def _followed(contact_id: int, event: Any = None, **_: Any) -> None:
    if event is not None:
        from otodoke.autoreplies.replies import on_follow

        on_follow(event, contact_id)


def _message(contact_id: int, text: str, event: Any = None, **_: Any) -> None:
    if event is not None:
        from otodoke.autoreplies.replies import on_message

        on_message(event, contact_id, text)


def _postback(contact_id: int, data: str, event: Any = None, **_: Any) -> None:
    if event is not None:
        from otodoke.autoreplies.replies import on_postback

        on_postback(event, contact_id, data)


def connect() -> None:
    line_signals.friend_followed.connect(_followed, dispatch_uid=f"{UID}.followed")
    line_signals.message_received.connect(_message, dispatch_uid=f"{UID}.message")
    line_signals.postback_received.connect(_postback, dispatch_uid=f"{UID}.postback")
