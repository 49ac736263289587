"""NHS numbers: checking and display (docs/reference.md "Identifiers and formats").

An NHS number is 10 digits; the 10th is a modulus-11 check digit over the first nine, which
catches every single mistyped digit and every transposition of two adjacent digits (checked and
formatted by ``stdnum.gb.nhs``, python-stdnum). Call handlers type numbers read out over the
phone, so the checks accept the spacing people use (``943 476 5919``, ``943-476-5919``) and
explain a refusal in words the caller can act on.

Synthetic numbers for demo data and tests are a development tool: devtools/nhs_numbers.py.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.gb import nhs

__all__ = [
    "InvalidNhsNumber",
    "format_nhs_number",
    "is_valid_nhs_number",
    "looks_like_nhs_number",
    "normalise_nhs_number",
]

NHS_NUMBER_LENGTH = 10

# What people type between the digit groups: any whitespace, the hyphen-minus and the Unicode
# hyphens and dashes a word processor substitutes for it (U+2010 to U+2015). Wider than
# stdnum's own clean-up (spaces and hyphen-minus), so it runs first.
_SEPARATORS_RE = re.compile(r"[\s\-\u2010-\u2015]+")
# Explicit ASCII class: \d would also accept other scripts' digits (Arabic-Indic, ...).
_DIGITS_RE = re.compile(r"[0-9]+")


class InvalidNhsNumber(ValueError):
    """Raised for text that is not a valid NHS number.

    The message is written for the call handler who typed the value, so forms can show it as is.
    """


def _compact(raw: str) -> str:
    return _SEPARATORS_RE.sub("", raw)


def normalise_nhs_number(raw: str) -> str:
    """Return the 10 digits of ``raw`` when it is a valid NHS number.

    Spaces, hyphens and surrounding whitespace are ignored. Raises :class:`InvalidNhsNumber` when
    the text is empty, contains anything but digits, has other than 10 digits, or fails the
    modulus-11 check of the NHS Data Dictionary (including numbers whose check digit would be 10,
    which are never issued).
    """
    digits = _compact(raw)
    if not digits:
        raise InvalidNhsNumber("Enter an NHS number, such as 943 476 5919.")
    if not _DIGITS_RE.fullmatch(digits):
        raise InvalidNhsNumber(
            "An NHS number contains only digits (spaces and hyphens are fine), "
            "such as 943 476 5919."
        )
    if len(digits) != NHS_NUMBER_LENGTH:
        raise InvalidNhsNumber(
            f"An NHS number has {NHS_NUMBER_LENGTH} digits; you entered {len(digits)}."
        )
    try:
        return nhs.validate(digits)
    except ValidationError:
        # Digits and length are checked above, so only the check digit is left to fail.
        raise InvalidNhsNumber(
            "This is not a valid NHS number: the check digit does not match. "
            "Check it with the caller."
        ) from None


def is_valid_nhs_number(raw: str) -> bool:
    """True when :func:`normalise_nhs_number` would accept ``raw``; never raises."""
    try:
        normalise_nhs_number(raw)
    except InvalidNhsNumber:
        return False
    return True


def format_nhs_number(digits: str) -> str:
    """Display form ``943 476 5919`` (3-3-4 groups, NHS common user interface).

    Formats whatever 10 digits are stored, without the check-digit test: display must never fail
    on a record, and validation is :func:`normalise_nhs_number`'s job at input. Raises
    :class:`InvalidNhsNumber` when ``digits`` (ignoring spaces and hyphens) is not 10 digits.
    """
    compact = _compact(digits)
    if len(compact) != NHS_NUMBER_LENGTH or not _DIGITS_RE.fullmatch(compact):
        raise InvalidNhsNumber(
            f"An NHS number has {NHS_NUMBER_LENGTH} digits; got {digits.strip()!r}."
        )
    return nhs.format(compact)


def looks_like_nhs_number(text: str) -> bool:
    """True when ``text`` is 10 digits once spaces and hyphens are removed.

    Search uses this to decide whether the query is an NHS number rather than a name; it does not
    check the check digit, so a mistyped number still searches by number (and finds nothing)
    instead of being searched for as a name.
    """
    compact = _compact(text)
    return len(compact) == NHS_NUMBER_LENGTH and bool(_DIGITS_RE.fullmatch(compact))
