"""Japanese reference data used to validate and normalise customer data."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# JIS X 0401 order: the index + 1 is the prefecture code POS systems sometimes export.
PREFECTURES: tuple[str, ...] = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
    "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
    "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
    "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
    "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
    "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
    "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
)  # fmt: skip

PREFECTURE_SET = frozenset(PREFECTURES)

_ALIASES: dict[str, str] = {}
for _code, _name in enumerate(PREFECTURES, start=1):
    _ALIASES[_name] = _name
    _ALIASES[str(_code)] = _name
    _ALIASES[f"{_code:02d}"] = _name
    # "東京" for "東京都", "大阪" for "大阪府"; 北海道 keeps its full name.
    if _name != "北海道":
        _ALIASES[_name[:-1]] = _name

# Longest first so 神奈川県 is not mistaken for a shorter prefix while scanning an address.
_ADDRESS_RE = re.compile("^(" + "|".join(sorted(PREFECTURES, key=len, reverse=True)) + ")")


def normalise_prefecture(value: str) -> str | None:
    """The prefecture's full Japanese name for a name, short name or JIS code; else None."""
    return _ALIASES.get(value.strip())


def prefecture_from_address(address: str) -> str | None:
    match = _ADDRESS_RE.match(address.strip())
    return match.group(1) if match else None


def validate_prefecture(value: str) -> None:
    if value and value not in PREFECTURE_SET:
        raise ValidationError(_("%(value)s is not a prefecture of Japan"), params={"value": value})


# Start year of each era (元年 = that year); enough for birth dates of living customers.
ERAS: dict[str, int] = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
ERA_LETTERS: dict[str, str] = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
