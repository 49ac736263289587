"""UK postcode shapes and coverage areas (docs/reference.md "Identifiers and formats")."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.postcodes import (
    INWARD_SHAPE,
    OUTWARD_SHAPES,
    InvalidPostcode,
    area_covers,
    covers_postcode,
    normalise_area,
    normalise_postcode,
    outward_code,
    sector,
)

# One real-looking postcode per outward shape of docs/reference.md.
POSTCODES_BY_SHAPE = {
    "AN": "M1 1AE",
    "ANN": "M60 1NW",
    "AAN": "CR2 6XH",
    "AANN": "DN55 1PT",
    "ANA": "W1A 0AX",
    "AANA": "EC1A 1BB",
}


def test_every_outward_shape_has_an_example() -> None:
    assert set(POSTCODES_BY_SHAPE) == set(OUTWARD_SHAPES)


@pytest.mark.parametrize("postcode", POSTCODES_BY_SHAPE.values())
def test_valid_postcode_of_each_shape_is_unchanged(postcode: str) -> None:
    assert normalise_postcode(postcode) == postcode


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("l9 7al", "L9 7AL"),
        ("L97AL", "L9 7AL"),
        ("  L9   7AL  ", "L9 7AL"),
        ("l 9 7 a l", "L9 7AL"),
        ("L9\t7AL\n", "L9 7AL"),
        ("ec1a1bb", "EC1A 1BB"),
        ("Sw1A 1aA", "SW1A 1AA"),
        ("dn551pt", "DN55 1PT"),
        ("w1a0ax", "W1A 0AX"),
        ("m601nw", "M60 1NW"),
        ("cr26xh", "CR2 6XH"),
    ],
)
def test_any_case_and_spacing_normalises_to_one_space_before_inward_code(
    raw: str, expected: str
) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "XYZ",
        "L9",  # an outward code alone
        "7AL",  # an inward code alone
        "1M 1AE",  # outward NA
        "MMM1 1AE",  # outward AAAN
        "M123 1AE",  # outward ANNN
        "M1AA 1AE",  # outward ANAA
        "MM1AA 1AE",  # outward AANAA
        "M1 AAE",  # inward AAA
        "M1 11E",  # inward NNA
        "M1 1A1",  # inward NAN
        "M1 1A",  # inward too short
        "M1 1AEE",  # inward too long
        "M1-1AE",  # punctuation
        "M1 1ÆE",  # non-ASCII letter
        "M\u0661 1AE",  # Arabic-Indic digit one
        "L9 7AL L9 7AL",
    ],
)
def test_malformed_postcode_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPostcode):
        normalise_postcode(raw)


def test_invalid_postcode_is_a_value_error_with_a_human_message() -> None:
    with pytest.raises(ValueError, match=r"'XYZ' is not a valid UK postcode.*L9 7AL"):
        normalise_postcode(" XYZ ")


def test_empty_postcode_asks_for_one() -> None:
    with pytest.raises(InvalidPostcode, match="Enter a postcode"):
        normalise_postcode("  ")


@pytest.mark.parametrize(
    ("postcode", "outward", "postcode_sector"),
    [
        ("l9 7al", "L9", "L9 7"),
        ("M601NW", "M60", "M60 1"),
        ("ec1a 1bb", "EC1A", "EC1A 1"),
        ("DN55 1PT", "DN55", "DN55 1"),
    ],
)
def test_outward_code_and_sector(postcode: str, outward: str, postcode_sector: str) -> None:
    assert outward_code(postcode) == outward
    assert sector(postcode) == postcode_sector


def test_outward_code_of_malformed_postcode_raises() -> None:
    with pytest.raises(InvalidPostcode):
        outward_code("XYZ")
    with pytest.raises(InvalidPostcode):
        sector("L9")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("l9", "L9"),
        (" L9 ", "L9"),
        ("l9  7", "L9 7"),
        ("L9 7", "L9 7"),
        (" sw1a\t1 ", "SW1A 1"),
        ("ec1a", "EC1A"),
        ("L97", "L97"),  # without a space it is the outward code L97, never sector L9 7
        ("dn55 1", "DN55 1"),
    ],
)
def test_area_is_an_outward_code_or_a_sector(raw: str, expected: str) -> None:
    assert normalise_area(raw) == expected


@pytest.mark.parametrize("raw", ["", "XYZ", "L", "9", "L9 77", "L9 A", "L9 7 A", "1L9", "L9-7"])
def test_malformed_area_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPostcode, match="not a valid coverage area"):
        normalise_area(raw)


@pytest.mark.parametrize("raw", ["L9 7AL", "l97al"])
def test_full_postcode_is_not_an_area_and_the_message_says_what_to_use(raw: str) -> None:
    with pytest.raises(InvalidPostcode, match=r"L9 7AL is a full postcode.*\(L9\).*\(L9 7\)"):
        normalise_area(raw)


@pytest.mark.parametrize(
    ("area", "postcode", "covered"),
    [
        ("L9", "L9 7AL", True),
        ("l9", "l9 0aa", True),
        ("L9", "L90 1AA", False),
        ("L1", "L1 0AA", True),
        ("L1", "L10 1AA", False),  # a string prefix is not an area
        ("L1", "L1A 1AA", False),
        ("L9 7", "L9 7AL", True),
        ("L9 7", "L9 8AL", False),
        ("L1 0", "L10 1AA", False),
        ("L10 1", "L10 1AA", True),
        ("SW1A", "SW1A 1AA", True),
        ("SW1", "SW1A 1AA", False),
        ("SW1A 1", "sw1a1aa", True),
    ],
)
def test_area_covers_postcode(area: str, postcode: str, covered: bool) -> None:
    assert area_covers(area, postcode) is covered


def test_covers_postcode_when_any_area_covers() -> None:
    assert covers_postcode(["L1", "L9 7"], "L9 7AL")
    assert not covers_postcode(["L1", "L9 8"], "L9 7AL")
    assert not covers_postcode([], "L9 7AL")
    assert covers_postcode(iter(["l10"]), "l10 1aa")


def test_covers_postcode_raises_for_malformed_postcode_or_area() -> None:
    with pytest.raises(InvalidPostcode):
        covers_postcode(["L9"], "XYZ")
    with pytest.raises(InvalidPostcode):
        covers_postcode(["XYZ"], "L9 7AL")


def _from_shape(shape: str) -> st.SearchStrategy[str]:
    letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    digits = st.sampled_from("0123456789")
    return st.tuples(*(letters if char == "A" else digits for char in shape)).map("".join)


valid_postcodes = st.sampled_from(OUTWARD_SHAPES).flatmap(
    lambda shape: st.tuples(_from_shape(shape), _from_shape(INWARD_SHAPE)).map(" ".join)
)


@given(
    postcode=valid_postcodes,
    lower=st.lists(st.booleans(), min_size=8, max_size=8),
    spaces=st.lists(st.sampled_from(["", "", " ", "  ", "\t"]), min_size=9, max_size=9),
)
def test_any_valid_postcode_survives_any_case_and_spacing(
    postcode: str, lower: list[bool], spaces: list[str]
) -> None:
    compact = postcode.replace(" ", "")
    chars = [c.lower() if low else c for c, low in zip(compact, lower, strict=False)]
    messy = "".join(space + char for space, char in zip(spaces, chars, strict=False)) + spaces[-1]
    assert normalise_postcode(messy) == postcode
    assert normalise_postcode(postcode) == postcode  # idempotent
    assert area_covers(outward_code(postcode), messy)
    assert area_covers(sector(postcode), messy)


@given(text=st.text(max_size=10))
def test_normalise_postcode_returns_a_valid_shape_or_raises(text: str) -> None:
    try:
        result = normalise_postcode(text)
    except InvalidPostcode:
        return
    outward, inward = result.split(" ")
    shape = "".join("A" if c.isalpha() else "N" for c in outward)
    assert shape in OUTWARD_SHAPES
    assert "".join("A" if c.isalpha() else "N" for c in inward) == INWARD_SHAPE
    assert result.isascii()
