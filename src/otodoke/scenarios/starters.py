"""The UI's one-click scenario templates (issue 13.6), in Japanese shop copy.

Each starter is a plain scenario definition for `services.create_scenario`, so a template is
only a starting point: the scenario it creates is edited like any other. When the engine's
`scenarios.presets` lands with the same six templates, the UI should list those instead.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

PURCHASE_GOAL: dict[str, Any] = {"event": "purchase", "where": [], "definition": None}


def _send(text: str) -> dict[str, Any]:
    return {"type": "send", "messages": [{"type": "text", "text": text}]}


@dataclass(frozen=True)
class Starter:
    key: str
    name: str  # the scenario's name: Japanese, as the shop's staff call it
    summary: Promise
    spec: dict[str, Any]

    def definition(self) -> dict[str, Any]:
        return copy.deepcopy(self.spec)


STARTERS: list[Starter] = [
    Starter(
        "signup_no_purchase",
        "登録後未購入クーポン",
        _("Signed up but no purchase after 3 days: a coupon. Ends when they buy."),
        {
            "trigger": {"kind": "event", "params": {"event": "signup", "where": []}},
            "entry_rule": "once",
            "goal": PURCHASE_GOAL,
            "steps": [
                {"type": "wait", "mode": "duration", "days": 3},
                _send(
                    "{{ name | default('お客様') }}様、ご登録ありがとうございます。\n"
                    "初回のお買い物に使える10%OFFクーポンをお届けします。\n"
                    "クーポンコード: WELCOME10"
                ),
            ],
        },
    ),
    Starter(
        "trial_to_subscription",
        "トライアル→定期購入",
        _("After a trial purchase: nudges on day 7, 14 and 28. Ends when they subscribe."),
        {
            "trigger": {
                "kind": "event",
                "params": {
                    "event": "purchase",
                    "where": [{"key": "category", "op": "equals", "value": "trial"}],
                },
            },
            "entry_rule": "once",
            "goal": {
                "event": "purchase",
                "where": [{"key": "category", "op": "equals", "value": "subscription"}],
                "definition": None,
            },
            "steps": [
                {"type": "wait", "mode": "duration", "days": 7},
                _send("トライアルはいかがですか?定期便なら毎回10%OFFでお届けします。"),
                {"type": "wait", "mode": "duration", "days": 7},
                _send("定期便のお客様には送料無料の特典もございます。"),
                {"type": "wait", "mode": "duration", "days": 14},
                _send("今月中の定期便お申し込みで、初回分をさらに500円引きにいたします。"),
            ],
        },
    ),
    Starter(
        "abandoned_cart",
        "カゴ落ちリマインド",
        _("One hour after a cart event: a reminder. Ends when they buy."),
        {
            "trigger": {"kind": "event", "params": {"event": "cart", "where": []}},
            "entry_rule": "after_days",
            "reentry_days": 7,
            "goal": PURCHASE_GOAL,
            "steps": [
                {"type": "wait", "mode": "duration", "hours": 1},
                _send("カートに商品が残っています。お買い忘れはございませんか?"),
            ],
        },
    ),
    Starter(
        "birthday_month",
        "誕生月クーポン",
        _("On the 1st of the birth month at 10:00: a birthday coupon."),
        {
            "trigger": {
                "kind": "date_attribute",
                "params": {"on": "birthday_month", "at": "10:00"},
            },
            "entry_rule": "every",
            "steps": [
                _send(
                    "{{ name | default('お客様') }}様、お誕生月おめでとうございます!\n"
                    "今月ご来店の際にお使いいただける特別クーポンをお届けします。"
                ),
            ],
        },
    ),
    Starter(
        "come_back",
        "再来店促進",
        _("60 days without a visit: an invitation to come back."),
        {
            "trigger": {
                "kind": "inactivity",
                "params": {"event": "visit", "days": 60, "at": "10:00"},
            },
            "entry_rule": "every",
            "steps": [
                _send(
                    "{{ name | default('お客様') }}様、ご無沙汰しております。\n"
                    "またのご来店を心よりお待ちしております。"
                ),
            ],
        },
    ),
    Starter(
        "welcome",
        "友だち追加あいさつ",
        _("On follow: a welcome, an introduction 3 days later, a link invitation if not linked."),
        {
            "trigger": {"kind": "friend_added", "params": {"include_refollow": True}},
            "entry_rule": "once",
            "steps": [
                _send("友だち追加ありがとうございます!お得な情報をLINEでお届けします。"),
                {"type": "wait", "mode": "duration", "days": 3},
                _send("当店のおすすめメニューをご紹介します。ぜひご覧ください。"),
                {
                    "type": "branch",
                    "condition": {"version": 1, "where": {"kind": "line_linked", "value": True}},
                    "then": 5,
                    "otherwise": 4,
                },
                _send(
                    "会員証とLINEを連携すると、ポイントやクーポンをLINEで受け取れます。"
                    "店頭でスタッフにお声がけください。"
                ),
            ],
        },
    ),
]

BY_KEY = {starter.key: starter for starter in STARTERS}
