"""Turn untrusted text (a CSV cell, an API value) into a field value, or say why not.

Each parser raises `CleanError` with a translated message; callers attach row and column.
"""

from __future__ import annotations

import re
import time as time_module
import unicodedata
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from otodoke.contacts.japan import ERA_LETTERS, ERAS, normalise_prefecture
from otodoke.contacts.models import LINE_USER_ID_RE, Gender


class CleanError(ValueError):
    pass


def nfkc(value: str) -> str:
    """Full-width digits and letters (０９０, ＠) become ASCII; POS exports mix both."""
    if value.isascii():  # NFKC leaves ASCII as it is; most cells are, and this is per cell
        return value.strip()
    return unicodedata.normalize("NFKC", value).strip()


_GENDERS = {
    "男": Gender.MALE, "男性": Gender.MALE, "m": Gender.MALE, "male": Gender.MALE,
    "man": Gender.MALE, "1": Gender.MALE,
    "女": Gender.FEMALE, "女性": Gender.FEMALE, "f": Gender.FEMALE, "female": Gender.FEMALE,
    "woman": Gender.FEMALE, "2": Gender.FEMALE,
    "その他": Gender.OTHER, "他": Gender.OTHER, "other": Gender.OTHER, "o": Gender.OTHER,
    "x": Gender.OTHER, "3": Gender.OTHER,
    "不明": Gender.UNKNOWN, "unknown": Gender.UNKNOWN, "未回答": Gender.UNKNOWN,
    "0": Gender.UNKNOWN, "-": Gender.UNKNOWN,
}  # fmt: skip


def clean_gender(value: str) -> str:
    found = _GENDERS.get(nfkc(value).lower())
    if found is None:
        raise CleanError(_("Unknown gender “%(value)s” (男/女/その他)") % {"value": value})
    return found.value


_TRUE = {"1", "true", "yes", "y", "はい", "可", "許可", "同意", "する", "○", "〇", "◯", "有"}
_FALSE = {"0", "false", "no", "n", "いいえ", "不可", "拒否", "しない", "×", "✕", "無", "否"}


def clean_bool(value: str) -> bool:
    v = nfkc(value).lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CleanError(_("“%(value)s” is neither yes nor no") % {"value": value})


_ERA_RE = re.compile(
    r"^(明治|大正|昭和|平成|令和|[MTSHR])\.?(\d{1,2}|元)[年./-](\d{1,2})[月./-](\d{1,2})日?$"
)
_YMD_RE = re.compile(r"^(\d{4})[/.\-年](\d{1,2})[/.\-月](\d{1,2})日?$")
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def clean_date(value: str) -> date:
    """1990/1/2, 1990-01-02, 19900102, 1990年1月2日, 平成2年1月2日, H2.1.2."""
    v = nfkc(value)
    try:
        if m := (_YMD_RE.match(v) or _COMPACT_RE.match(v)):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := _ERA_RE.match(v.upper() if v[:1].isascii() else v):
            era = ERA_LETTERS.get(m[1], m[1])
            year = ERAS[era] + (1 if m[2] == "元" else int(m[2])) - 1
            return date(year, int(m[3]), int(m[4]))
    except ValueError as exc:
        raise CleanError(_("“%(value)s” is not a valid date") % {"value": value}) from exc
    raise CleanError(_("“%(value)s” is not a date (e.g. 1990/1/2)") % {"value": value})


@lru_cache(maxsize=2)
def _today(hour_key: int) -> date:
    return timezone.localdate()


def clean_birth_date(value: str) -> date:
    born = clean_date(value)
    # "Today" looked up once an hour, not once per row of a million-row file.
    if born.year < 1900 or born > _today(int(time_module.monotonic() // 3600)):
        raise CleanError(_("Birth date %(value)s is out of range") % {"value": value})
    return born


_TIME_FORMATS = ("%H:%M:%S", "%H:%M")


def clean_datetime(value: str, tz: tzinfo) -> datetime:
    """An aware datetime; a value without an offset is in the workspace's time zone, a bare
    date is its midnight there."""
    v = nfkc(value).replace("T", " ")
    try:
        parsed = datetime.fromisoformat(v.replace("/", "-")) if "-" in v or "/" in v else None
    except ValueError:
        parsed = None
    if parsed is None:
        day_part, _sep, time_part = v.partition(" ")
        day = clean_date(day_part)
        moment = time()
        if time_part:
            for fmt in _TIME_FORMATS:
                try:
                    moment = datetime.strptime(time_part, fmt).time()  # noqa: DTZ007 - made aware below
                    break
                except ValueError:
                    continue
            else:
                raise CleanError(_("“%(value)s” is not a date and time") % {"value": value})
        parsed = datetime.combine(day, moment)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def clean_yen(value: str) -> int:
    if value.isascii() and value.isdigit():  # the common case: plain digits
        return int(value)
    v = nfkc(value).replace(",", "").replace("¥", "").replace("\\", "").removesuffix("円")
    try:
        return int(v)
    except ValueError:
        try:
            as_float = float(v)
        except ValueError:
            as_float = float("nan")
        if as_float.is_integer():
            return int(as_float)
        raise CleanError(_("“%(value)s” is not an amount in yen") % {"value": value}) from None


def clean_count(value: str) -> int:
    v = nfkc(value).replace(",", "").removesuffix("回")
    if not v.isdigit():
        raise CleanError(_("“%(value)s” is not a whole number") % {"value": value})
    return int(v)


# Japanese mobile numbers (070/080/090 then a non-zero digit) are the bulk of a customer list;
# matching them directly gives the same E.164 as phonenumbers (a test checks) at 1/50 the cost.
_MOBILE_RE = re.compile(r"^0([789]0[1-9]\d{7})$")
_PHONE_JUNK = str.maketrans("", "", " -()ー－‐")


@lru_cache(maxsize=4096)
def _parse_phone(digits: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_phone(value: str, region: str = "JP") -> str:
    """E.164 (+819012345678)."""
    digits = nfkc(value).translate(_PHONE_JUNK)
    if region == "JP" and (m := _MOBILE_RE.match(digits)):
        return "+81" + m[1]
    found = _parse_phone(digits, region)
    if found is None:
        raise CleanError(_("“%(value)s” is not a valid phone number") % {"value": value})
    return found


def domestic_phone(e164: str) -> str:
    """+817019529228 → 070-1952-9228: how a Japanese number is written in Japan. Numbers of
    other countries keep the international form; anything unparsable is shown as stored."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, "JP")
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code != 81:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


# Plain addresses (nearly all of them) pass this; anything unusual goes to Django's validator.
_SIMPLE_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9._+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
)


def clean_email(value: str) -> str:
    v = nfkc(value)
    try:
        if not _SIMPLE_EMAIL_RE.match(v) or ".." in v or ".@" in v or v.startswith("."):
            validate_email(v)
    except ValidationError as exc:
        raise CleanError(_("“%(value)s” is not a valid e-mail address") % {"value": value}) from exc
    local, _at, domain = v.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_prefecture(value: str) -> str:
    found = normalise_prefecture(nfkc(value))
    if found is None:
        raise CleanError(_("“%(value)s” is not a prefecture of Japan") % {"value": value})
    return found


def clean_line_user_id(value: str) -> str:
    v = value.strip()
    if not LINE_USER_ID_RE.match(v):
        raise CleanError(
            _("“%(value)s” is not a LINE user ID (U followed by 32 hexadecimal characters)")
            % {"value": value}
        )
    return v


def clean_text(value: str, max_length: int = 200) -> str:
    v = value.strip()
    if len(v) > max_length:
        raise CleanError(_("Longer than %(n)d characters") % {"n": max_length})
    return v
