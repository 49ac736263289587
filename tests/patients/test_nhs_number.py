"""NHS number checks and display (docs/reference.md "Identifiers and formats")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.nhs_number import (
    InvalidNhsNumber,
    format_nhs_number,
    is_valid_nhs_number,
    looks_like_nhs_number,
    normalise_nhs_number,
)

# docs/reference.md: the worked example, valid.
VALID = "9434765919"


def reference_check_digit(first_nine: str) -> int:
    """The NHS Data Dictionary algorithm written out again, independently of the module.

    Returns 10 for prefixes that can never be valid.
    """
    total = sum(int(digit) * (10 - position) for position, digit in enumerate(first_nine))
    check = 11 - total % 11
    return 0 if check == 11 else check


def prefixes_with_check(check: int) -> list[str]:
    """Nine-digit prefixes (near the example) whose reference check digit is ``check``."""
    candidates = (str(number) for number in range(943_476_500, 943_477_000))
    return [prefix for prefix in candidates if reference_check_digit(prefix) == check]


# --- normalise_nhs_number ------------------------------------------------------------------------


def test_reference_example_is_valid() -> None:
    assert normalise_nhs_number(VALID) == VALID
    assert is_valid_nhs_number(VALID)


@pytest.mark.parametrize(
    "raw",
    [
        "943 476 5919",
        "943-476-5919",
        "  9434765919  ",
        "943 - 476 - 5919",
        "943\u2010476\u20105919",
        "9 4 3 4 7 6 5 9 1 9",
        "\t943 476 5919\n",
    ],
)
def test_spaces_and_hyphens_are_accepted(raw: str) -> None:
    assert normalise_nhs_number(raw) == VALID


@pytest.mark.parametrize(
    ("raw", "count"), [("943476591", 9), ("94347659190", 11), ("943 476 591", 9), ("1", 1)]
)
def test_wrong_number_of_digits_is_refused_with_the_count(raw: str, count: int) -> None:
    with pytest.raises(
        InvalidNhsNumber, match=rf"^An NHS number has 10 digits; you entered {count}\.$"
    ):
        normalise_nhs_number(raw)


@pytest.mark.parametrize("raw", ["943476591O", "NHS 9434765919", "943.476.5919", "+9434765919"])
def test_anything_but_digits_is_refused(raw: str) -> None:
    with pytest.raises(InvalidNhsNumber, match="only digits"):
        normalise_nhs_number(raw)


def test_other_scripts_digits_are_refused() -> None:
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in VALID)
    assert not is_valid_nhs_number(arabic_indic)


@pytest.mark.parametrize("raw", ["", "   ", " - "])
def test_empty_is_refused(raw: str) -> None:
    with pytest.raises(InvalidNhsNumber, match="Enter an NHS number"):
        normalise_nhs_number(raw)


def test_wrong_check_digit_is_refused() -> None:
    with pytest.raises(InvalidNhsNumber) as caught:
        normalise_nhs_number("9434765918")
    assert str(caught.value) == (
        "This is not a valid NHS number: the check digit does not match. Check it with the caller."
    )


def test_every_other_tenth_digit_is_refused() -> None:
    for digit in "0123456789":
        assert is_valid_nhs_number(VALID[:9] + digit) == (digit == VALID[9])


def test_prefix_whose_check_digit_computes_to_10_is_refused_with_every_tenth_digit() -> None:
    prefixes = prefixes_with_check(10)
    assert prefixes, "the search window must contain a prefix with check digit 10"
    for prefix in prefixes:
        for digit in "0123456789":
            with pytest.raises(InvalidNhsNumber, match="check digit does not match"):
                normalise_nhs_number(prefix + digit)


def test_remainder_0_gives_check_digit_0() -> None:
    prefixes = prefixes_with_check(0)
    assert prefixes
    for prefix in prefixes:
        total = sum(
            int(digit) * weight for digit, weight in zip(prefix, range(10, 1, -1), strict=True)
        )
        assert total % 11 == 0
        assert normalise_nhs_number(prefix + "0") == prefix + "0"
        assert not is_valid_nhs_number(prefix + "1")


@given(st.integers(min_value=0, max_value=999_999_999))
def test_agrees_with_the_reference_algorithm(prefix_number: int) -> None:
    prefix = f"{prefix_number:09d}"
    expected = reference_check_digit(prefix)
    valid_endings = {digit for digit in "0123456789" if is_valid_nhs_number(prefix + digit)}
    assert valid_endings == (set() if expected == 10 else {str(expected)})


@given(st.integers(min_value=0, max_value=8), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_is_caught(position: int, change: int) -> None:
    wrong = list(VALID)
    wrong[position] = str((int(wrong[position]) + change) % 10)
    assert not is_valid_nhs_number("".join(wrong))


# --- format, looks_like --------------------------------------------------------------------------


def test_format_groups_3_3_4() -> None:
    assert format_nhs_number(VALID) == "943 476 5919"
    assert format_nhs_number("943-476-5919") == "943 476 5919"


@pytest.mark.parametrize("raw", ["94347659", "94347659191", "943476591X"])
def test_format_refuses_anything_but_10_digits(raw: str) -> None:
    with pytest.raises(InvalidNhsNumber):
        format_nhs_number(raw)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("943 476 5919", True),
        ("943-476-5919", True),
        ("9434765918", True),  # a mistyped number still searches by number
        ("943 476 591", False),
        ("Smith", False),
        ("943 476 591X", False),
        ("", False),
    ],
)
def test_looks_like_nhs_number(text: str, expected: bool) -> None:
    assert looks_like_nhs_number(text) is expected
