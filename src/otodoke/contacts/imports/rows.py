"""CSV row → service input, per import kind. A row with any bad cell is rejected whole."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import tzinfo
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from otodoke.contacts import cleaning as c
from otodoke.contacts.imports.reading import ColumnMap
from otodoke.contacts.inputs import ContactInput, EventInput, LinkInput, RowError
from otodoke.contacts.japan import prefecture_from_address
from otodoke.contacts.models import CUSTOM_KIND_PREFIX, EventKind

# The separators POS and spreadsheet exports put between tags in one cell (half- and full-width):
# "VIP;休眠", "VIP|休眠", "VIP/休眠", "VIP、休眠". Spaces are not separators: tag names
# may hold them.
TAG_SEPARATORS = re.compile(r"[,，、;；|｜/／]")
# What the mapping step (UI, `otodoke import --tag-separator`) may choose instead: one kind of
# separator, or spaces (half- or full-width) for files whose tags hold no spaces.
TAG_SEPARATOR_CHOICES: dict[str, re.Pattern[str]] = {
    "auto": TAG_SEPARATORS,
    "comma": re.compile(r"[,，]"),
    "touten": re.compile(r"、"),
    "semicolon": re.compile(r"[;；]"),
    "pipe": re.compile(r"[|｜]"),
    "slash": re.compile(r"[/／]"),
    "space": re.compile(r"[\s\u3000]+"),
}

_EXTERNAL_ID = (
    "顧客番号", "会員番号", "顧客ID", "顧客コード", "お客様番号", "カルテ番号", "会員ID",
    "customer_id", "customer number", "external_id", "member_id", "id",
)  # fmt: skip

CONTACT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": _EXTERNAL_ID,
    "name": ("氏名", "名前", "お名前", "顧客名", "name", "full_name"),
    "family_name": ("姓", "last_name", "family_name"),
    "given_name": ("名", "first_name", "given_name"),
    "name_kana": ("フリガナ", "ふりがな", "カナ", "氏名カナ", "セイメイ", "name_kana", "kana"),
    "family_name_kana": ("セイ", "姓カナ", "family_name_kana"),
    "given_name_kana": ("メイ", "名カナ", "given_name_kana"),
    "gender": ("性別", "gender", "sex"),
    "birth_date": ("生年月日", "誕生日", "birth_date", "birthday", "date_of_birth"),
    "prefecture": ("都道府県", "prefecture"),
    "address": ("住所", "住所1", "address"),
    "phone": (
        "携帯電話",
        "携帯電話番号",
        "携帯番号",
        "電話番号",
        "電話",
        "tel",
        "mobile",
        "phone",
        "phone_number",
    ),
    "email": ("メールアドレス", "メール", "Eメール", "e-mail", "email", "mail"),
    "marketing_consent": (
        "配信許可",
        "同意",
        "配信同意",
        "DM許可",
        "メール配信",
        "marketing_consent",
        "consent",
        "opt_in",
        "accepts_marketing",
    ),
    "first_visit_at": ("初回来店日", "初来店日", "first_visit_at", "first_visit"),
    "last_visit_at": ("最終来店日", "前回来店日", "last_visit_at", "last_visit"),
    "visit_count": ("来店回数", "来店数", "visit_count", "visits"),
    "purchase_count": ("購入回数", "purchase_count", "orders_count"),
    "total_spent": (
        "累計購入金額",
        "累計金額",
        "累計売上",
        "総購入金額",
        "total_spent",
        "lifetime_value",
    ),
    "last_purchase_at": ("最終購入日", "last_purchase_at", "last_order_date"),
    "line_user_id": ("LINEユーザーID", "LINE ID", "line_user_id", "line_id", "userId"),
    "tags": ("タグ", "tags"),
}

EVENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "伝票番号",
        "取引ID",
        "イベントID",
        "会計番号",
        "event_id",
        "transaction_id",
        "order_id",
        "external_id",
    ),
    "customer_id": (*_EXTERNAL_ID[:-2], "customer_external_id"),
    "kind": ("種別", "区分", "イベント種別", "kind", "type", "event"),
    "occurred_at": (
        "日時",
        "来店日時",
        "来店日",
        "利用日",
        "購入日時",
        "購入日",
        "日付",
        "occurred_at",
        "date",
        "datetime",
        "timestamp",
    ),
    "amount": ("金額", "売上金額", "合計金額", "支払金額", "売上", "amount", "total", "price"),
    "item": ("商品", "商品名", "メニュー", "item", "product"),
    "category": ("カテゴリ", "カテゴリー", "分類", "category"),
}

LINK_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": _EXTERNAL_ID,
    "line_user_id": CONTACT_SYNONYMS["line_user_id"],
}

# CSV field → (Contact field, parser)
_SIMPLE: dict[str, tuple[str, Callable[[str], Any]]] = {
    "gender": ("gender", c.clean_gender),
    "birth_date": ("birth_date", c.clean_birth_date),
    "prefecture": ("prefecture", c.clean_prefecture),
    "phone": ("phone", c.clean_phone),
    "email": ("email", c.clean_email),
    "marketing_consent": ("marketing_consent", c.clean_bool),
    "visit_count": ("baseline_visit_count", c.clean_count),
    "purchase_count": ("baseline_purchase_count", c.clean_count),
    "total_spent": ("baseline_total_spent", c.clean_yen),
}
_TIMES = {
    "first_visit_at": "baseline_first_visit_at",
    "last_visit_at": "baseline_last_visit_at",
    "last_purchase_at": "baseline_last_purchase_at",
}


def _joined(m: ColumnMap, cells: list[str], whole: str, first: str, second: str) -> str:
    return m.value(cells, whole) or " ".join(
        v for v in (m.value(cells, first), m.value(cells, second)) if v
    )


def contact_row(
    line: int,
    cells: list[str],
    m: ColumnMap,
    tz: tzinfo,
    tag_separator: re.Pattern[str] = TAG_SEPARATORS,
) -> ContactInput | list[RowError]:
    errors: list[RowError] = []
    values: dict[str, Any] = {}

    def fail(field_name: str, message: str) -> None:
        errors.append(RowError(line, m.column_of(field_name), message))

    external_id = m.value(cells, "external_id")
    if not external_id:
        fail("external_id", _("A customer number is required"))
    for field_name, (target, parse) in _SIMPLE.items():
        if raw := m.value(cells, field_name):
            try:
                values[target] = parse(raw)
            except c.CleanError as exc:
                fail(field_name, str(exc))
    for field_name, target in _TIMES.items():
        if raw := m.value(cells, field_name):
            try:
                values[target] = c.clean_datetime(raw, tz)
            except c.CleanError as exc:
                fail(field_name, str(exc))
    for target, parts in (
        ("name", ("name", "family_name", "given_name")),
        ("name_kana", ("name_kana", "family_name_kana", "given_name_kana")),
    ):
        if text := _joined(m, cells, *parts):
            try:
                values[target] = c.clean_text(text)
            except c.CleanError as exc:
                fail(parts[0], str(exc))
    address = m.value(cells, "address")
    if (
        "prefecture" not in values
        and address
        and (found := prefecture_from_address(c.nfkc(address)))
    ):
        values["prefecture"] = found
    line_user_id = None
    if raw := m.value(cells, "line_user_id"):
        try:
            line_user_id = c.clean_line_user_id(raw)
        except c.CleanError as exc:
            fail("line_user_id", str(exc))
    if errors:
        return errors
    tags = [t.strip() for t in tag_separator.split(m.value(cells, "tags")) if t.strip()]
    attributes = {key: cells[i].strip() for key, i in m.extras.items() if i < len(cells)}
    return ContactInput(
        row=line,
        external_id=c.nfkc(external_id),
        line_user_id=line_user_id,
        values=values,
        attributes={k: v for k, v in attributes.items() if v},
        tags=tags,
    )


# Cleaners whose result depends on the cell alone (during one import): remembered per distinct
# cell, errors included, since a file repeats 男/女, prefectures, counts and dates on every row.
_MEMO_FIELDS = frozenset(
    {"gender", "birth_date", "prefecture", "marketing_consent", "visit_count",
     "purchase_count", "total_spent"}
)  # fmt: skip
_MEMO_SIZE = 100_000


def _memo(parse: Callable[[str], Any]) -> Callable[[str], tuple[bool, Any]]:
    """(True, value) or (False, the CleanError's message), remembered for up to _MEMO_SIZE
    distinct cells."""
    seen: dict[str, tuple[bool, Any]] = {}

    def run(raw: str) -> tuple[bool, Any]:
        hit = seen.get(raw)
        if hit is None:
            try:
                hit = (True, parse(raw))
            except c.CleanError as exc:
                hit = (False, str(exc))
            if len(seen) < _MEMO_SIZE:
                seen[raw] = hit
        return hit

    return run


def _plain(parse: Callable[[str], Any]) -> Callable[[str], tuple[bool, Any]]:
    def run(raw: str) -> tuple[bool, Any]:
        try:
            return True, parse(raw)
        except c.CleanError as exc:
            return False, str(exc)

    return run


def contact_parser(
    m: ColumnMap, tz: tzinfo, tag_separator: re.Pattern[str] = TAG_SEPARATORS
) -> Callable[[int, list[str]], ContactInput | list[RowError]]:
    """`contact_row` for one import, built once: the same checks in the same order, with the
    column getters looked up once and the repetitive cells cleaned once per distinct value."""
    get = m.getter
    external_of, address_of, line_of, tags_of = (
        get("external_id"), get("address"), get("line_user_id"), get("tags")
    )  # fmt: skip
    simple = [
        (get(name), m.column_of(name), target, (_memo if name in _MEMO_FIELDS else _plain)(fn))
        for name, (target, fn) in _SIMPLE.items()
    ]
    times = [
        (get(name), m.column_of(name), target, _memo(lambda raw: c.clean_datetime(raw, tz)))
        for name, target in _TIMES.items()
    ]
    texts = [
        (target, get(whole), get(first), get(second), m.column_of(whole))
        for target, (whole, first, second) in (
            ("name", ("name", "family_name", "given_name")),
            ("name_kana", ("name_kana", "family_name_kana", "given_name_kana")),
        )
    ]
    external_column, line_column = m.column_of("external_id"), m.column_of("line_user_id")
    extras = list(m.extras.items())
    required = _("A customer number is required")

    def parse(line: int, cells: list[str]) -> ContactInput | list[RowError]:
        errors: list[RowError] = []
        values: dict[str, Any] = {}
        external_id = external_of(cells)
        if not external_id:
            errors.append(RowError(line, external_column, required))
        for getter, column, target, run in (*simple, *times):
            if raw := getter(cells):
                ok, value = run(raw)
                if ok:
                    values[target] = value
                else:
                    errors.append(RowError(line, column, value))
        for target, whole, first, second, column in texts:
            text = whole(cells) or " ".join(v for v in (first(cells), second(cells)) if v)
            if text:
                try:
                    values[target] = c.clean_text(text)
                except c.CleanError as exc:
                    errors.append(RowError(line, column, str(exc)))
        if (
            "prefecture" not in values
            and (address := address_of(cells))
            and (found := prefecture_from_address(c.nfkc(address)))
        ):
            values["prefecture"] = found
        line_user_id = None
        if raw := line_of(cells):
            try:
                line_user_id = c.clean_line_user_id(raw)
            except c.CleanError as exc:
                errors.append(RowError(line, line_column, str(exc)))
        if errors:
            return errors
        tag_cell = tags_of(cells)
        tags = [t.strip() for t in tag_separator.split(tag_cell) if t.strip()] if tag_cell else []
        attributes = {key: cells[i].strip() for key, i in extras if i < len(cells)}
        return ContactInput(
            row=line,
            external_id=c.nfkc(external_id),
            line_user_id=line_user_id,
            values=values,
            attributes={k: v for k, v in attributes.items() if v},
            tags=tags,
        )

    return parse


_KINDS = {
    "来店": EventKind.VISIT, "visit": EventKind.VISIT, "予約来店": EventKind.VISIT,
    "購入": EventKind.PURCHASE, "お買い上げ": EventKind.PURCHASE, "物販": EventKind.PURCHASE,
    "purchase": EventKind.PURCHASE, "order": EventKind.PURCHASE,
    "カート": EventKind.CART, "カート追加": EventKind.CART, "cart": EventKind.CART,
    "登録": EventKind.SIGNUP, "会員登録": EventKind.SIGNUP, "signup": EventKind.SIGNUP,
}  # fmt: skip


@lru_cache(maxsize=1024)
def clean_kind(raw: str) -> str:
    # Cached: a file holds a handful of kinds, repeated on every row.
    v = c.nfkc(raw)
    if v.startswith(CUSTOM_KIND_PREFIX):
        return v
    found = _KINDS.get(v.lower())
    # Anything else is the business's own kind (予約, 問い合わせ …), kept by name.
    return found.value if found else f"{CUSTOM_KIND_PREFIX}{v[:50]}"


def event_row(
    line: int, cells: list[str], m: ColumnMap, tz: tzinfo, source: str
) -> EventInput | list[RowError]:
    errors: list[RowError] = []

    def fail(field_name: str, message: str) -> None:
        errors.append(RowError(line, m.column_of(field_name), message))

    customer = m.value(cells, "customer_id")
    if not customer:
        fail("customer_id", _("A customer number is required"))
    occurred_at = None
    if raw := m.value(cells, "occurred_at"):
        try:
            occurred_at = c.clean_datetime(raw, tz)
        except c.CleanError as exc:
            fail("occurred_at", str(exc))
    else:
        fail("occurred_at", _("A date is required"))
    amount = None
    if raw := m.value(cells, "amount"):
        try:
            amount = c.clean_yen(raw)
        except c.CleanError as exc:
            fail("amount", str(exc))
    # A file without a kind column is a visit history (来店履歴), the common POS export.
    kind = clean_kind(m.value(cells, "kind") or EventKind.VISIT.value)
    if errors:
        return errors
    properties = {key: v for key in ("item", "category") if (v := m.value(cells, key))}
    properties.update(
        {key: cells[i].strip() for key, i in m.extras.items() if i < len(cells) and cells[i]}
    )
    return EventInput(
        row=line,
        external_id=m.value(cells, "external_id") or None,
        contact_external_id=c.nfkc(customer),
        kind=kind,
        occurred_at=occurred_at,
        amount=amount,
        properties=properties,
        source=source,
    )


def link_row(line: int, cells: list[str], m: ColumnMap) -> LinkInput | list[RowError]:
    errors: list[RowError] = []
    external_id = m.value(cells, "external_id")
    if not external_id:
        errors.append(
            RowError(line, m.column_of("external_id"), _("A customer number is required"))
        )
    user_id = ""
    try:
        user_id = c.clean_line_user_id(m.value(cells, "line_user_id"))
    except c.CleanError as exc:
        errors.append(RowError(line, m.column_of("line_user_id"), str(exc)))
    if errors:
        return errors
    return LinkInput(row=line, external_id=c.nfkc(external_id), line_user_id=user_id)
