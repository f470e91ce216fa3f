"""The demo's auto-replies: a welcome (personalised for linked customers, with the link
invitation for the others) and keyword rules for 予約, 営業時間 and クーポン, created once.

The demo greets a new friend with the 友だち追加あいさつ scenario (issue 13's demo), so the
welcome auto-reply is made switched off: turn it on (and pause the scenario) to greet by reply
token instead; both on would greet twice.
"""

from __future__ import annotations

from typing import Any

from otodoke.autoreplies import services
from otodoke.autoreplies.models import Rule, RuleKind
from otodoke.workspaces.models import Workspace


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": body}


DEMO_RULES: tuple[dict[str, Any], ...] = (
    {
        "kind": RuleKind.WELCOME,
        "name": "友だち追加のあいさつ",
        "enabled": False,
        "invite_unlinked": True,
        "messages": [
            _text(
                "{{ name | default('お客様') }}さま、友だち追加ありがとうございます！\n"
                "サロン花と緑です。お得な情報やクーポンをこちらでお届けします。\n"
                "「予約」「営業時間」「クーポン」と送ると、すぐにご案内します。"
            )
        ],
    },
    {
        "kind": RuleKind.KEYWORD,
        "name": "予約",
        "keywords": ["予約", "よやく"],
        "match_type": "contains",
        "add_tag": "予約問い合わせ",
        "messages": [
            _text(
                "ご予約はこちらから24時間受け付けています。\nhttps://example.com/reserve\n"
                "お電話でも承ります（03-1234-5678）。"
            )
        ],
    },
    {
        "kind": RuleKind.KEYWORD,
        "name": "営業時間",
        "keywords": ["営業時間", "何時"],
        "match_type": "contains",
        "messages": [_text("営業時間は10:00〜20:00（火曜定休）です。")],
    },
    {
        "kind": RuleKind.KEYWORD,
        "name": "クーポン",
        "keywords": ["クーポン"],
        "match_type": "contains",
        "messages": [
            _text(
                "{{ name | default('お客様') }}さま限定、今月のクーポンです🎁\n"
                "トリートメント20%OFF（コード: HANA20）"
            )
        ],
    },
    {
        "kind": RuleKind.AWAY,
        "name": "営業時間外",
        "enabled": False,
        "open_days": [0, 2, 3, 4, 5, 6],
        "opens_at": "10:00",
        "closes_at": "20:00",
        "messages": [_text("ただいま営業時間外です。明日10時以降に順番にお返事します。")],
    },
)


def ensure_demo(workspace: Workspace) -> list[str]:
    """Create the demo's rules once (a rule of the same kind and name is left as staff
    changed it). Returns the names created."""
    existing = set(Rule.objects.filter(workspace=workspace).values_list("kind", "name"))
    made = []
    for spec in DEMO_RULES:
        if (spec["kind"], spec["name"]) in existing:
            continue
        services.create_rule(workspace, dict(spec))
        made.append(str(spec["name"]))
    return made
