"""Realistic demo data for a hair salon: customers, LINE friends, visits and purchases."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from otodoke.contacts.japan import PREFECTURES
from otodoke.contacts.models import (
    Contact,
    Event,
    EventKind,
    Gender,
    LineStatus,
    LinkedVia,
    TagSource,
)
from otodoke.contacts.rollups import recompute_rollups
from otodoke.contacts.tagging import add_tag_pairs
from otodoke.workspaces.models import Workspace

FAMILY = [
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"), ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"), ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"), ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"), ("清水", "シミズ", "shimizu"), ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("石川", "イシカワ", "ishikawa"),
]  # fmt: skip
FEMALE = [
    ("花子", "ハナコ", "hanako"), ("陽菜", "ヒナ", "hina"), ("結衣", "ユイ", "yui"),
    ("美咲", "ミサキ", "misaki"), ("さくら", "サクラ", "sakura"), ("葵", "アオイ", "aoi"),
    ("優子", "ユウコ", "yuko"), ("恵子", "ケイコ", "keiko"), ("真由美", "マユミ", "mayumi"),
    ("彩", "アヤ", "aya"), ("愛", "アイ", "ai"), ("奈々", "ナナ", "nana"), ("凛", "リン", "rin"),
]  # fmt: skip
MALE = [
    ("太郎", "タロウ", "taro"), ("翔太", "ショウタ", "shota"), ("大輔", "ダイスケ", "daisuke"),
    ("健太", "ケンタ", "kenta"), ("蓮", "レン", "ren"), ("拓也", "タクヤ", "takuya"),
    ("誠", "マコト", "makoto"), ("浩", "ヒロシ", "hiroshi"), ("悠斗", "ユウト", "yuto"),
]  # fmt: skip
# Weighted towards the big metropolitan areas; every other prefecture keeps a small share.
_PREF_WEIGHTS = {"東京都": 30, "神奈川県": 14, "大阪府": 10, "埼玉県": 8, "千葉県": 7,
                 "愛知県": 6, "兵庫県": 4, "福岡県": 4, "北海道": 3, "京都府": 2}  # fmt: skip
MENU = [  # (item, category, kind, min yen, max yen, weight)
    ("カット", "カット", EventKind.VISIT, 4400, 6600, 40),
    ("カット+カラー", "カラー", EventKind.VISIT, 9900, 14300, 25),
    ("パーマ", "パーマ", EventKind.VISIT, 8800, 13200, 10),
    ("トリートメント", "トリートメント", EventKind.VISIT, 3300, 5500, 10),
    ("シャンプー購入", "物販", EventKind.PURCHASE, 2200, 4400, 15),
]  # fmt: skip
DOMAINS = ["example.jp", "example.com", "example.ne.jp", "docomo.example", "ezweb.example"]

DemoFriend = tuple[str, str, str]


def _line_ids(rng: random.Random, given: Iterable[str] | None) -> Iterator[str]:
    if given is not None:
        yield from given
    while True:
        yield "U" + f"{rng.getrandbits(128):032x}"


def _visits(rng: random.Random, now: datetime, first: datetime) -> list[tuple[datetime, int]]:
    """Visit times from `first` on, every 4–10 weeks, stopping at random (some go dormant)."""
    times, moment = [], first
    while moment < now:
        times.append(moment)
        if rng.random() < 0.12:
            break
        moment += timedelta(days=rng.randint(28, 75), hours=rng.randint(-3, 3))
    return [(t, 0) for t in times]


@transaction.atomic
def generate_demo_data(
    workspace: Workspace,
    *,
    contacts: int = 3000,
    seed: int = 42,
    line_user_ids_from: Iterable[str] | None = None,
    now: datetime | None = None,
) -> list[DemoFriend]:
    """Create `contacts` salon customers (most of them LINE friends, some blocked), about 10 %
    more LINE-only followers, two years of visits and purchases, and tags (VIP / 新規 / 休眠).
    Deterministic for a seed and a day. Returns the LINE friends as (user ID, display name,
    status) for the emulator; `line_user_ids_from` supplies their user IDs, if given."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    now = (now or timezone.now()).replace(minute=0, second=0, microsecond=0)
    ids = _line_ids(rng, line_user_ids_from)
    prefs = list(PREFECTURES)
    weights = [_PREF_WEIGHTS.get(p, 1) for p in prefs]
    people: list[Contact] = []
    friends: list[DemoFriend] = []
    for n in range(1, contacts + 1):
        roll = rng.random()
        gender = Gender.FEMALE if roll < 0.62 else Gender.MALE if roll < 0.96 else Gender.OTHER
        family = rng.choice(FAMILY)
        given = rng.choice(MALE if gender == Gender.MALE else FEMALE)
        born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55 + 13))
        contact = Contact(
            workspace=workspace,
            external_id=f"{100000 + n}",
            name=f"{family[0]} {given[0]}",
            name_kana=f"{family[1]} {given[1]}",
            gender=gender,
            birth_date=born,
            prefecture=rng.choices(prefs, weights)[0],
            phone=f"+81{rng.choice('789')}0{rng.randint(1, 9)}{rng.randint(0, 9999999):07d}",
            email=f"{given[2]}.{family[2]}{n}@{rng.choice(DOMAINS)}" if rng.random() < 0.7 else "",
            marketing_consent=rng.random() > 0.05,
        )
        if rng.random() < 0.8:
            _befriend(contact, next(ids), rng, now, display=given[0])
            contact.line_linked_at = contact.line_first_followed_at
            contact.line_linked_via = rng.choice([LinkedVia.ACCOUNT_LINK, LinkedVia.IMPORT])
            friends.append((str(contact.line_user_id), given[0], contact.line_status))
        people.append(contact)
    for _ in range(contacts // 10):
        nickname = rng.choice(["🌸", "★", "♪", ""]) + rng.choice(FEMALE + MALE)[2].capitalize()
        contact = Contact(workspace=workspace)
        _befriend(contact, next(ids), rng, now, display=nickname)
        friends.append((str(contact.line_user_id), nickname, contact.line_status))
        people.append(contact)
    Contact.objects.bulk_create(people, batch_size=2000)
    _events_and_tags(workspace, [c for c in people if c.external_id], rng, now)
    return friends


def _befriend(
    contact: Contact, user_id: str, rng: random.Random, now: datetime, *, display: str
) -> None:
    followed = now - timedelta(days=rng.randint(1, 900), hours=rng.randint(0, 23))
    contact.line_user_id = user_id
    contact.line_display_name = display
    contact.line_language = "ja"
    contact.line_first_followed_at = contact.line_followed_at = followed
    contact.line_status = LineStatus.FOLLOWING
    if rng.random() < 0.08:
        contact.line_status = LineStatus.BLOCKED
        contact.line_unfollowed_at = followed + (now - followed) * rng.random()


def _events_and_tags(
    workspace: Workspace, customers: list[Contact], rng: random.Random, now: datetime
) -> None:
    events: list[Event] = []
    tags: list[tuple[int, str]] = []
    spent: dict[int, int] = {}
    start = now - timedelta(days=730)
    for contact in customers:
        first = start + timedelta(days=rng.randint(0, 720), hours=rng.randint(10, 18))
        visits = _visits(rng, now, first)
        total = 0
        for i, (moment, _) in enumerate(visits):
            item, category, kind, low, high, _w = rng.choices(MENU, [m[5] for m in MENU])[0]
            amount = rng.randrange(low, high + 1, 110)
            total += amount
            events.append(
                Event(
                    workspace=workspace,
                    contact_id=contact.pk,
                    kind=EventKind.VISIT if kind == EventKind.PURCHASE else kind,
                    occurred_at=moment,
                    amount=amount if kind == EventKind.VISIT else None,
                    properties={"item": item, "category": category},
                    external_id=f"V{contact.external_id}-{i}",
                    source="demo",
                )
            )
            if kind == EventKind.PURCHASE:
                events.append(
                    Event(
                        workspace=workspace,
                        contact_id=contact.pk,
                        kind=EventKind.PURCHASE,
                        occurred_at=moment + timedelta(minutes=50),
                        amount=amount,
                        properties={"item": item, "category": category},
                        external_id=f"P{contact.external_id}-{i}",
                        source="demo",
                    )
                )
        spent[contact.pk] = total
        if visits and visits[0][0] > now - timedelta(days=60):
            tags.append((contact.pk, "新規"))
        if visits and visits[-1][0] < now - timedelta(days=180):
            tags.append((contact.pk, "休眠"))
        if contact.line_user_id and contact.line_linked_at:
            tags.append((contact.pk, "line"))
    ranked = sorted(spent, key=lambda pk: spent[pk], reverse=True)
    tags.extend((pk, "VIP") for pk in ranked[: max(1, len(ranked) // 10)])
    Event.objects.bulk_create(events, batch_size=2000)
    add_tag_pairs(workspace, tags, source=TagSource.AUTO, at=now)
    recompute_rollups(c.pk for c in customers)
