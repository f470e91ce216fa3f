import random

import phonenumbers
import pytest

from otodoke.contacts.cleaning import CleanError, clean_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("090-1234-5678", "+819012345678"),
        ("０９０（１２３４）５６７８", "+819012345678"),
        ("080 1111 2222", "+818011112222"),
        ("03-1234-5678", "+81312345678"),
        ("+81 90 1234 5678", "+819012345678"),
        ("0120-123-456", "+81120123456"),
    ],
)
def test_phones_are_normalised_to_e164(raw: str, expected: str) -> None:
    assert clean_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345", "090-1234-567", "abc", "090-0000-0000x"])
def test_invalid_phones_are_rejected(raw: str) -> None:
    with pytest.raises(CleanError):
        clean_phone(raw)


def test_mobile_fast_path_agrees_with_phonenumbers() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        digits = "0" + rng.choice("789") + "0" + "".join(rng.choices("0123456789", k=8))
        number = phonenumbers.parse(digits, "JP")
        if phonenumbers.is_valid_number(number):
            expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            assert clean_phone(digits) == expected
        else:
            with pytest.raises(CleanError):
                clean_phone(digits)
