"""Synthetic NHS numbers: valid, distinct, in the reserved test range (docs/reference.md
"Identifiers and formats")."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.nhs_numbers import SYNTHETIC_CAPACITY, synthetic_nhs_number, synthetic_nhs_numbers
from patients.nhs_number import is_valid_nhs_number, normalise_nhs_number
from tests.patients.test_nhs_number import reference_check_digit

# docs/reference.md: reserved for testing, never issued.
TEST_RANGE = range(9_990_000_000, 10_000_000_000)


@given(st.integers())
def test_every_synthetic_number_is_valid_and_in_the_test_range(seed: int) -> None:
    number = synthetic_nhs_number(seed)
    assert normalise_nhs_number(number) == number
    assert int(number) in TEST_RANGE


@given(st.integers())
def test_synthetic_number_is_deterministic(seed: int) -> None:
    assert synthetic_nhs_number(seed) == synthetic_nhs_number(seed)


@given(
    st.integers(min_value=0, max_value=SYNTHETIC_CAPACITY - 1),
    st.integers(min_value=0, max_value=SYNTHETIC_CAPACITY - 1),
)
def test_different_seeds_give_different_numbers(first: int, second: int) -> None:
    assert (synthetic_nhs_number(first) == synthetic_nhs_number(second)) == (first == second)


@given(st.integers(min_value=0, max_value=50), st.integers())
def test_bulk_numbers_match_single_numbers(count: int, start: int) -> None:
    bulk = list(synthetic_nhs_numbers(count, start=start))
    assert bulk == [synthetic_nhs_number(start + offset) for offset in range(count)]


def test_100_000_synthetic_numbers_are_distinct_and_valid() -> None:
    numbers = list(synthetic_nhs_numbers(100_000, start=12_345))
    assert len(set(numbers)) == 100_000
    assert all(is_valid_nhs_number(number) for number in numbers)


def test_synthetic_numbers_are_every_valid_number_of_the_range_start() -> None:
    # Brute force over the first 100,000 numbers of the raw range: nothing is skipped.
    brute = [
        str(n)
        for n in range(TEST_RANGE.start, TEST_RANGE.start + 100_000)
        if is_valid_nhs_number(str(n))
    ]
    assert list(synthetic_nhs_numbers(len(brute))) == brute


def test_the_whole_range_is_ascending_and_counted_exactly() -> None:
    numbers = list(synthetic_nhs_numbers(SYNTHETIC_CAPACITY))
    assert numbers[0] == "9990000018"
    assert numbers[-1] == "9999999999"
    assert all(a < b for a, b in itertools.pairwise(numbers))
    assert all(reference_check_digit(n[:9]) == int(n[9]) for n in numbers[::10])
    # Independent count: the first nine digits fix the tenth, so the range holds one valid number
    # per prefix 999000000-999999999 unless the prefix's check digit is 10 (remainder 1). Count
    # the six free digits' weighted sums mod 11 (weights 7..2) by dynamic programming.
    sums = [1] + [0] * 10
    for weight in (7, 6, 5, 4, 3, 2):
        sums = [sum(sums[(r - weight * digit) % 11] for digit in range(10)) for r in range(11)]
    prefix_sum = 9 * (10 + 9 + 8)
    without_check_digit = sums[(1 - prefix_sum) % 11]
    assert SYNTHETIC_CAPACITY == 1_000_000 - without_check_digit == 909_091


def test_sequence_wraps_around_the_end_of_the_range() -> None:
    assert list(synthetic_nhs_numbers(2, start=SYNTHETIC_CAPACITY - 1)) == [
        "9999999999",
        "9990000018",
    ]
    assert synthetic_nhs_number(-1) == "9999999999"


def test_asking_for_more_numbers_than_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="holds only 909,091"):
        synthetic_nhs_numbers(SYNTHETIC_CAPACITY + 1)
    with pytest.raises(ValueError, match="negative"):
        synthetic_nhs_numbers(-1)
