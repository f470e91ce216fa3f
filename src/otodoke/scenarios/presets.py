"""Ready-made scenarios (one click, then editable) with Japanese copy.

Each template is a name, a description and a version spec (`schema.VersionSpec`). The
date-attribute and inactivity triggers are evaluated by `scenarios.timed`; their params here
follow its documented shape.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User

from otodoke.scenarios.models import Scenario
from otodoke.workspaces.models import Workspace


def _text(body: str) -> dict[str, Any]:
    return {"type": "send", "messages": [{"type": "text", "text": body}]}


def _wait(**kw: Any) -> dict[str, Any]:
    return {"type": "wait", **kw}


PURCHASE_GOAL = {"event": "purchase"}
SUBSCRIPTION_GOAL = {
    "event": "purchase",
    "where": [{"key": "category", "op": "equals", "value": "subscription"}],
}
NOT_LINKED = {"version": 1, "where": {"kind": "line_linked", "value": False}}


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    description: str
    spec: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "description": self.description,
            "spec": copy.deepcopy(self.spec),
        }


PRESETS: tuple[Preset, ...] = (
    Preset(
        "signup_no_purchase_coupon",
        "登録後未購入クーポン",
        "会員登録から3日たっても購入がないお客様にクーポンを送ります。購入したら終了します。",
        {
            "trigger": {"kind": "event", "params": {"event": "signup"}},
            "entry_rule": "once",
            "goal": PURCHASE_GOAL,
            "steps": [
                _wait(days=3),
                _text(
                    "{{ name | default('お客様') }}さま、ご登録ありがとうございます。\n"
                    "はじめてのお買い物に使える10%OFFクーポンをお届けします🎁\n"
                    "クーポンコード: WELCOME10（7日間有効）"
                ),
            ],
        },
    ),
    Preset(
        "trial_to_subscription",
        "トライアル→定期購入",
        "トライアル商品を購入したお客様に、7日後・14日後・28日後に定期購入をご案内します。"
        "定期購入したら終了します。",
        {
            "trigger": {
                "kind": "event",
                "params": {
                    "event": "purchase",
                    "where": [{"key": "category", "op": "equals", "value": "trial"}],
                },
            },
            "entry_rule": "once",
            "goal": SUBSCRIPTION_GOAL,
            "steps": [
                _wait(days=7),
                _text(
                    "{{ name | default('お客様') }}さま、トライアルはいかがですか？\n"
                    "お使いいただいた感想をぜひお聞かせください。"
                ),
                _wait(days=7),
                _text(
                    "定期便なら毎回10%OFF・送料無料でお届けします。\n"
                    "いつでも解約できますので、お気軽にお試しください。"
                ),
                _wait(days=14),
                _text("トライアルのお客様限定の定期便特典は今月末までです。お見逃しなく！"),
            ],
        },
    ),
    Preset(
        "abandoned_cart_reminder",
        "カゴ落ちリマインド",
        "カートに商品を入れたまま購入していないお客様に、1時間後にお知らせします。"
        "購入したら終了します。",
        {
            "trigger": {"kind": "event", "params": {"event": "cart"}},
            "entry_rule": "after_days",
            "reentry_days": 1,
            "goal": PURCHASE_GOAL,
            "steps": [
                _wait(hours=1),
                _text(
                    "{{ name | default('お客様') }}さま、カートに商品が残っています🛒\n"
                    "在庫がなくなる前にお手続きください。"
                ),
            ],
        },
    ),
    Preset(
        "birthday_month_coupon",
        "誕生月クーポン",
        "誕生月の1日10:00に、お誕生日クーポンを送ります（年に1回）。",
        {
            "trigger": {
                "kind": "date_attribute",
                "params": {"attribute": "birth_date", "match": "month", "day": 1, "at": "10:00"},
            },
            "entry_rule": "after_days",
            "reentry_days": 300,
            "steps": [
                _text(
                    "🎂 {{ name | default('お客様') }}さま、お誕生月おめでとうございます！\n"
                    "今月中にご来店いただくと、お会計から20%OFFいたします。"
                ),
            ],
        },
    ),
    Preset(
        "come_back_after_60_days",
        "再来店促進",
        "最後のご来店から60日たったお客様に、再来店のご案内を送ります。",
        {
            "trigger": {"kind": "inactivity", "params": {"event": "visit", "days": 60}},
            "entry_rule": "after_days",
            "reentry_days": 60,
            "goal": {"event": "visit"},
            "steps": [
                _text(
                    "{{ name | default('お客様') }}さま、お久しぶりです。お元気ですか？\n"
                    "そろそろメンテナンスの時期です。ご予約はこちらからどうぞ。"
                ),
            ],
        },
    ),
    Preset(
        "welcome_on_follow",
        "友だち追加あいさつ",
        "友だち追加のお礼、3日後にお店のご紹介、まだ会員連携していない方には連携のご案内を"
        "送ります。",
        {
            "trigger": {"kind": "friend_added", "params": {"include_refollow": False}},
            "entry_rule": "once",
            "steps": [
                {
                    **_text(
                        "友だち追加ありがとうございます！\n"
                        "お得な情報やクーポンをこちらでお届けします。"
                    ),
                    # The answer to the friend's own follow: at once, whatever the hour.
                    "quiet_hours": False,
                },
                _wait(days=3),
                _text("当店のご紹介です。ご予約・お問い合わせはこのトークからお気軽にどうぞ。"),
                {"type": "branch", "condition": NOT_LINKED, "then": 4, "otherwise": 5},
                _text(
                    "会員連携すると、ポイントや来店履歴に合わせたご案内が届きます。\n"
                    "このトークで「会員連携」と送信してください。"
                ),
            ],
        },
    ),
)


def preset(key: str) -> Preset | None:
    return next((p for p in PRESETS if p.key == key), None)


def instantiate(
    workspace: Workspace, key: str, *, name: str | None = None, created_by: User | None = None
) -> Scenario:
    """A draft scenario from a template (edit it, then activate it). Raises KeyError."""
    from otodoke.scenarios.services import create_scenario

    found = preset(key)
    if found is None:
        raise KeyError(key)
    return create_scenario(
        workspace,
        name=name or found.name,
        description=found.description,
        spec=copy.deepcopy(found.spec),
        created_by=created_by,
        template=found.key,
    )
