"""The human-readable summary of every condition kind, in English and Japanese: each kind reads
as words in the UI's language (labels from the catalogue and the models' choices), never as the
definition's raw keys such as ``male``, ``purchase`` or ``gte``."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from django.utils import translation

from otodoke.segments.schema import Condition
from otodoke.segments.summary import summarize

SEGMENTS = {3: "VIP客"}
AUDIENCES = {4: "春の来店者"}

# (where, English, Japanese): at least one row per condition kind.
CASES: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "kind": "all",
            "conditions": [
                {"kind": "consent"},
                {
                    "kind": "any",
                    "conditions": [{"kind": "has_email"}, {"kind": "has_phone", "value": False}],
                },
            ],
        },
        "Consents to marketing and (Has an e-mail address or Has no phone number)",
        "配信許可あり かつ (メールアドレスあり または 電話番号なし)",
    ),
    (
        {"kind": "not", "condition": {"kind": "consent", "value": False}},
        "not Does not consent to marketing",
        "配信許可なし ではない",
    ),
    (
        {"kind": "gender", "values": ["male", "female", "other", "unknown"]},
        "Gender: Male, Female, Other, Unknown",
        "性別: 男性、女性、その他、不明",
    ),
    ({"kind": "age", "min": 30, "max": 39}, "Age 30–39 years", "年齢 30〜39歳"),
    (
        {"kind": "has_customer_number", "value": False},
        "Has no customer number (LINE-only friend)",
        "顧客番号なし（LINEのみの友だち）",
    ),
    ({"kind": "birth_month", "months": [1, 12]}, "Birth month: 1, 12", "誕生月: 1、12"),
    ({"kind": "birthday", "when": "next_month"}, "Birthday next month", "来月が誕生月"),
    (
        {"kind": "prefecture", "values": ["東京都", "大阪府"]},
        "Prefecture: 東京都, 大阪府",
        "都道府県: 東京都、大阪府",
    ),
    (
        {"kind": "attribute", "key": "plan", "op": "contains", "value": "gold"},
        "Attribute “plan” contains gold",
        "属性「plan」に gold を含む",
    ),
    (
        {"kind": "last_visit", "op": "before", "days_ago": 60},
        "Last visit more than 60 days ago",
        "最終来店日が60日より前",
    ),
    (
        {"kind": "first_visit", "op": "on_or_after", "date": "2024-01-01"},
        "First visit on or after 2024-01-01",
        "初回来店日が2024-01-01以降",
    ),
    ({"kind": "last_purchase", "op": "never"}, "Last purchase: never", "最終購入日: なし"),
    ({"kind": "visit_count", "min": 3}, "Visits 3 times or more", "来店回数 3回以上"),
    ({"kind": "purchase_count", "max": 2}, "Purchases 2 times or less", "購入回数 2回以下"),
    (
        {"kind": "total_spent", "min": 20000, "max": 50000},
        "Total spent 20,000–50,000 yen",
        "累計購入金額 20,000〜50,000円",
    ),
    (
        {"kind": "tags", "match": "all", "names": ["VIP", "line"], "added_within_days": 30},
        "Has all of the tags VIP, line (added in the last 30 days)",
        "タグ VIP、line をすべて持つ（過去30日間に付与）",
    ),
    (
        {
            "kind": "event",
            "event": "purchase",
            "within_days": 90,
            "where": [
                {"key": "category", "op": "in", "value": ["シャンプー", "カラー"]},
                {"key": "price", "op": "gte", "value": 3000},
                {"key": "coupon", "op": "exists"},
            ],
            "op": "exactly",
            "value": 2,
        },
        "“Purchase” [category = シャンプー or カラー] [price ≥ 3000] [coupon is set]"
        " exactly 2 times in the last 90 days",
        "「購入」 [category = シャンプー または カラー] [price ≥ 3000] [coupon 入力済み]"
        "が2回ちょうど（過去90日間）",
    ),
    (
        {
            "kind": "event",
            "event": "custom:予約",
            "measure": "amount",
            "op": "at_most",
            "value": 5000,
            "since": "2024-01-01",
            "until": "2024-02-01",
        },
        "Amount of “予約” at most 5,000 yen between 2024-01-01 and 2024-02-01",
        "「予約」の金額が5,000円以下（2024-01-01〜2024-02-01）",
    ),
    (
        {"kind": "line_status", "values": ["following", "blocked", "none"]},
        "LINE: following, blocked, not a friend",
        "LINE: 友だち、ブロック、友だちではない",
    ),
    ({"kind": "line_linked", "value": False}, "Not linked to LINE", "LINE未連携"),
    (
        {"kind": "friend_for", "at_least_days": 30, "at_most_days": 365},
        "LINE friend for 30–365 days",
        "友だち期間 30〜365日",
    ),
    (
        {"kind": "in_segment", "segment_id": 3},
        "In segment “VIP客”",
        "セグメント「VIP客」に含まれる",
    ),
    (
        {"kind": "in_audience", "audience_id": 4},
        "In audience “春の来店者”",
        "オーディエンス「春の来店者」に含まれる",
    ),
    (
        {"kind": "clicked", "campaign_id": 2, "within_days": 7},
        "Clicked a link of campaign #2 in the last 7 days",
        "配信 #2 のリンクをクリックした（過去7日間）",
    ),
]


def _kinds_in(node: dict[str, Any]) -> set[str]:
    found = {node["kind"]}
    for child in node.get("conditions", []):
        found |= _kinds_in(child)
    if "condition" in node:
        found |= _kinds_in(node["condition"])
    return found


def test_the_cases_cover_every_condition_kind_of_the_schema() -> None:
    (union, *_extra) = typing.get_args(Condition)
    kinds = {
        literal
        for model in typing.get_args(union)
        for literal in typing.get_args(model.model_fields["kind"].annotation)
    }
    covered = set().union(*(_kinds_in(where) for where, _en, _ja in CASES))
    assert kinds - covered == set(), "add a summary case for the new condition kind"


@pytest.mark.parametrize(("where", "english", "japanese"), CASES, ids=[c[0]["kind"] for c in CASES])
def test_summary_reads_as_words_in_english_and_japanese(
    where: dict[str, Any], english: str, japanese: str
) -> None:
    definition = {"version": 1, "where": where}
    texts = {}
    for language in ("en", "ja"):
        with translation.override(language):
            texts[language] = summarize(
                definition, segment_names=SEGMENTS, audience_names=AUDIENCES
            )
    assert texts == {"en": english, "ja": japanese}
