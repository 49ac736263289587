"""Names: accent-insensitive search form, NHS display form and validation."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.names import InvalidName, display_name, fold, search_form, validate_person_name

# --- fold ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Siân", "sian"),
        ("Nguyễn", "nguyen"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("O‘Brien", "obrien"),
        ("O`Brien", "obrien"),
        ("O´Brien", "obrien"),
        ("Zoë-Ann", "zoe ann"),
        ("Zoë – Ann", "zoe ann"),
        ("Ó Briain", "o briain"),
        ("Łukasz", "lukasz"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Ægir", "aegir"),
        ("Œuvre", "oeuvre"),
        ("Søren", "soren"),
        ("Đorđević", "dordevic"),
        ("Þórður", "thordur"),
        ("Yıldız", "yildiz"),
        ("İlhan", "ilhan"),
        ("Ħili", "hili"),
        ("  Mary   Ann\t", "mary ann"),
        ("Ｓｍｉｔｈ", "smith"),  # full-width letters from some input methods
        ("e\u0301mile", "emile"),  # decomposed accent
        ("محمد", "محمد"),
        ("김민준", "김민준"),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_straight_and_curly_apostrophes_fold_alike() -> None:
    assert fold("O'Brien") == fold("O’Brien") == fold("OBRIEN")


def test_muller_and_mueller_stay_different() -> None:
    # Folding removes accents; it does not transliterate between spellings.
    assert fold("Müller") == "muller"
    assert fold("Müller") != fold("Mueller")


def test_irish_names_fold_with_and_without_fada() -> None:
    assert fold("Ó Briain") == fold("O Briain") == fold("o-briain")


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text())
def test_fold_has_no_uppercase_no_combining_marks_and_no_apostrophes(text: str) -> None:
    folded = fold(text)
    assert folded.lower() == folded
    assert not any(unicodedata.combining(char) for char in folded)
    assert not set(folded) & set("'’‘`-")
    assert folded == folded.strip()
    assert "  " not in folded


@given(st.text(alphabet=st.characters(codec="latin-1")))
def test_fold_ignores_case_of_latin_text(text: str) -> None:
    assert fold(text.upper()) == fold(text.lower()) == fold(text)


def test_fold_is_idempotent_for_every_character_up_to_u2fff() -> None:
    for code_point in range(0x3000):
        if 0xD800 <= code_point <= 0xDFFF:
            continue
        folded = fold(chr(code_point))
        assert fold(folded) == folded, hex(code_point)


# --- search_form ---------------------------------------------------------------------------------


def test_search_form_is_family_then_given() -> None:
    assert search_form("Siân", "Nguyễn") == "nguyen sian"
    assert search_form("Zoë-Ann", "O’Brien") == "obrien zoe ann"


def test_search_form_without_given_name() -> None:
    assert search_form("", "O'Brien") == "obrien"
    assert search_form("Siân", "") == "sian"


# --- display_name --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_name", "family", "expected"),
    [
        ("Jane", "Smith", "SMITH, Jane"),
        ("Siân", "Nguyễn", "NGUYỄN, Siân"),
        ("Sean", "O'Brien", "O'BRIEN, Sean"),
        ("Zoë-Ann", "Ó Briain", "Ó BRIAIN, Zoë-Ann"),
        ("Łukasz", "Wałęsa", "WAŁĘSA, Łukasz"),
        ("", "Smith", "SMITH"),
        ("  Mary  Ann ", " van  der Berg ", "VAN DER BERG, Mary Ann"),
        ("Jane", "", "Jane"),
    ],
)
def test_display_name(given_name: str, family: str, expected: str) -> None:
    assert display_name(given_name, family) == expected


# --- validate_person_name ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien", "O'Brien"),
        ("O’Brien", "O’Brien"),
        ("  Siân ", "Siân"),
        ("Nguyễn", "Nguyễn"),
        ("Zoë-Ann", "Zoë-Ann"),
        ("Ó Briain", "Ó Briain"),
        ("St. John", "St. John"),
        ("Mary  Ann", "Mary Ann"),
        ("Mary\u00a0Ann", "Mary Ann"),
        ("e\u0301mile", "émile"),
        ("محمد", "محمد"),
        ("नेहा", "नेहा"),
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian zero-width non-joiner is part of the word
        ("Smith\n", "Smith"),
    ],
)
def test_valid_names_are_accepted(value: str, expected: str) -> None:
    assert validate_person_name(value, field="family name") == expected


@pytest.mark.parametrize(
    "value",
    [
        "<script>alert(1)</script>",
        "Smith<",
        "Smith; DROP",
        "A=B",
        "Smith & Sons",
        "J@ne",
        "Jane_Doe",
    ],
)
def test_other_punctuation_is_refused(value: str) -> None:
    with pytest.raises(InvalidName) as caught:
        validate_person_name(value, field="family name")
    message = str(caught.value)
    assert message.startswith("The family name cannot contain")
    assert message.endswith("Names can contain letters, spaces, hyphens and apostrophes.")


def test_script_tag_message_lists_the_refused_characters() -> None:
    with pytest.raises(InvalidName, match=r"cannot contain these characters: .*< >"):
        validate_person_name("<script>", field="given name")


@pytest.mark.parametrize("value", ["123", "<>", "...", "-", "' '"])
def test_text_with_no_letter_is_refused(value: str) -> None:
    with pytest.raises(InvalidName, match="given name"):
        validate_person_name(value, field="given name")


@pytest.mark.parametrize("value", ["", "   ", "\n"])
def test_empty_is_refused(value: str) -> None:
    with pytest.raises(InvalidName, match=r"^Enter the given name\.$"):
        validate_person_name(value, field="given name")


def test_over_long_is_refused_with_the_limit() -> None:
    assert validate_person_name("a" * 100, field="family name") == "a" * 100
    with pytest.raises(InvalidName, match=r"100 characters or fewer; it has 101"):
        validate_person_name("a" * 101, field="family name")
    with pytest.raises(InvalidName, match=r"35 characters or fewer"):
        validate_person_name("a" * 36, field="family name", max_length=35)


@pytest.mark.parametrize(
    "value", ["Ann\tMarie", "Ann\x00", "Ann\u202eeiram", "Ann\u200bMarie", "Ann\rMarie"]
)
def test_control_and_hidden_characters_are_refused(value: str) -> None:
    with pytest.raises(InvalidName, match="hidden or control character"):
        validate_person_name(value, field="family name")


@given(st.text())
def test_validate_either_refuses_or_returns_a_clean_name(value: str) -> None:
    try:
        name = validate_person_name(value, field="family name")
    except InvalidName as error:
        assert "family name" in str(error)
        return
    assert name == name.strip()
    assert 0 < len(name) <= 100
    assert any(unicodedata.category(char).startswith("L") for char in name)
    assert not set(name) & set('<>;=&"')
    assert validate_person_name(name, field="family name") == name
