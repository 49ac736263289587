"""UK postcodes and the coverage areas built from them (docs/reference.md "Identifiers and formats").

A postcode is an outward code and an inward code separated by one space (``L9 7AL``). A service
covers postcode *areas*: either a whole outward code (``L9``) or one sector of it (``L9 7``).
We check the *shape* of a postcode only; whether it was ever issued is the Royal Mail's business,
and an unissued but well-formed postcode simply matches no coverage area.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "INWARD_SHAPE",
    "OUTWARD_SHAPES",
    "InvalidPostcode",
    "area_covers",
    "covers_postcode",
    "normalise_area",
    "normalise_postcode",
    "outward_code",
    "sector",
]

# docs/reference.md "Identifiers and formats": A = letter, N = digit.
OUTWARD_SHAPES = ("AN", "ANN", "AAN", "AANN", "ANA", "AANA")
INWARD_SHAPE = "NAA"


def _shape_pattern(shape: str) -> str:
    # Explicit ASCII classes: \d would also accept other scripts' digits (Arabic-Indic, ...).
    return "".join("[A-Z]" if char == "A" else "[0-9]" for char in shape)


_OUTWARD = "(?:" + "|".join(_shape_pattern(shape) for shape in OUTWARD_SHAPES) + ")"
_INWARD = _shape_pattern(INWARD_SHAPE)
_POSTCODE_RE = re.compile(rf"({_OUTWARD}) ({_INWARD})")
_OUTWARD_RE = re.compile(_OUTWARD)
_SECTOR_RE = re.compile(rf"({_OUTWARD}) ([0-9])")
_WHITESPACE_RE = re.compile(r"\s+")

# The inward code is always three characters, which is what lets us re-space any input.
_INWARD_LENGTH = 3


class InvalidPostcode(ValueError):
    """Raised for text that is not shaped like a UK postcode (or, for areas, like an area).

    The message is written for the person who typed the value, so forms can show it as is.
    """


def normalise_postcode(raw: str) -> str:
    """Return ``raw`` as a canonical postcode: uppercase, one space before the inward code.

    Any case and any spacing are accepted (``" l97al "``, ``"L9  7AL"``). Raises
    :class:`InvalidPostcode` when the result does not have a valid UK postcode shape.
    """
    compact = _WHITESPACE_RE.sub("", raw).upper()
    if not compact:
        raise InvalidPostcode("Enter a postcode, such as L9 7AL.")
    candidate = f"{compact[:-_INWARD_LENGTH]} {compact[-_INWARD_LENGTH:]}"
    if len(compact) <= _INWARD_LENGTH or not _POSTCODE_RE.fullmatch(candidate):
        raise InvalidPostcode(
            f"{raw.strip()!r} is not a valid UK postcode: expected an outward code and an "
            "inward code such as L9 7AL or SW1A 1AA."
        )
    return candidate


def outward_code(postcode: str) -> str:
    """The outward code (``"L9"`` for ``"l9 7al"``); raises :class:`InvalidPostcode`."""
    return normalise_postcode(postcode).split(" ")[0]


def sector(postcode: str) -> str:
    """The postcode sector: outward code, space, first inward digit (``"L9 7"``).

    Raises :class:`InvalidPostcode`.
    """
    normalised = normalise_postcode(postcode)
    return normalised[: -_INWARD_LENGTH + 1]


def normalise_area(raw: str) -> str:
    """Return a coverage area in canonical form: outward code (``"L9"``) or sector (``"L9 7"``).

    Without a space the text is read as an outward code, so ``"L97"`` means the outward code L97,
    never sector L9 7 (write ``"L9 7"`` for that). A full postcode is refused: a service covers
    areas, and storing one postcode as an "area" would silently cover nobody else.
    Raises :class:`InvalidPostcode`.
    """
    parts = raw.upper().split()
    if len(parts) == 1 and _OUTWARD_RE.fullmatch(parts[0]):
        return parts[0]
    if len(parts) == 2 and _SECTOR_RE.fullmatch(f"{parts[0]} {parts[1]}"):
        return f"{parts[0]} {parts[1]}"
    try:
        postcode = normalise_postcode(raw)
    except InvalidPostcode:
        pass
    else:
        raise InvalidPostcode(
            f"{postcode} is a full postcode, not a coverage area: use its outward code "
            f"({outward_code(postcode)}) or its sector ({sector(postcode)})."
        )
    raise InvalidPostcode(
        f"{raw.strip()!r} is not a valid coverage area: expected a postcode outward code "
        "(such as L9) or a sector (such as L9 7)."
    )


def area_covers(area: str, postcode: str) -> bool:
    """Whether coverage ``area`` includes ``postcode``.

    Areas are compared as whole codes, never as string prefixes: ``"L1"`` does not cover
    ``"L10 1AA"``. Raises :class:`InvalidPostcode` if either value is malformed.
    """
    return _covers(normalise_area(area), normalise_postcode(postcode))


def covers_postcode(areas: Iterable[str], postcode: str) -> bool:
    """Whether any of ``areas`` includes ``postcode`` (``False`` for no areas).

    Raises :class:`InvalidPostcode` if the postcode or any area examined is malformed.
    """
    normalised = normalise_postcode(postcode)
    return any(_covers(normalise_area(area), normalised) for area in areas)


def _covers(area: str, postcode: str) -> bool:
    """Both arguments already normalised; a sector area contains a space, an outward code none."""
    if " " in area:
        return postcode[: -_INWARD_LENGTH + 1] == area
    return postcode.split(" ")[0] == area
