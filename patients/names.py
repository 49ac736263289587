"""People's names: validation, display and an accent-insensitive search form.

A call handler searching for "Sian Nguyen" must find "Siân Nguyễn", whatever the keyboard, and
"O'Brien" typed with a straight apostrophe must find "O’Brien" pasted from a letter. So every name
is stored as typed (for display and for letters) and, beside it, in a *folded* search form; the
search query is folded the same way and compared with that.

Folding is deliberately lenient: it drops accents and apostrophes, ignores case and treats hyphens
as spaces. It does not transliterate between spellings ("Müller" and "Mueller" stay different);
search is where such near-misses are handled, not here.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "InvalidName",
    "display_name",
    "fold",
    "search_form",
    "validate_person_name",
]

# Letters that Unicode compatibility decomposition (NFKD) leaves alone because they are letters
# in their own right, not a base letter plus an accent; keyed by their case-folded form.
# "ħ" (Maltese) is added to the usual Nordic, Polish, Croatian, Icelandic and Turkish letters.
_LETTER_MAP = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "ø": "o",
        "đ": "d",
        "ł": "l",
        "þ": "th",
        "ð": "d",
        "ı": "i",
        "ħ": "h",
    }
)

# Apostrophes and quotes vanish ("O'Brien" = "OBrien"): straight, curly, backtick, the modifier
# letter apostrophe, the acute accent people type for one, and double quotes.
_APOSTROPHES = "'\u2019\u2018`\u02bc\u00b4\"\u201c\u201d"
_DROP_APOSTROPHES = str.maketrans(dict.fromkeys(_APOSTROPHES, None))
# Hyphens and dashes separate name parts like a space does ("Zoë-Ann" = "Zoë Ann").
_HYPHENS_RE = re.compile(r"[\-\u2010-\u2015\u2212]")
_WHITESPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """The accent-, case- and punctuation-insensitive search form of ``text``.

    NFKD-decompose and drop combining marks (accents), case-fold, map the letters in
    ``_LETTER_MAP``, remove apostrophes and quotes, turn hyphens and runs of whitespace into one
    space, strip. Idempotent: ``fold(fold(x)) == fold(x)``, so a stored folded value and a folded
    query always compare like for like. ``fold("Siân") == "sian"``, ``fold("O’Brien") == "obrien"``.
    """
    # The acute accent (U+00B4) decomposes to space + combining acute, so drop apostrophes first.
    text = text.translate(_DROP_APOSTROPHES)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    # casefold() maps ß to ss and final sigma to sigma; a second NFKD pass removes the few
    # accents case-folding itself introduces, and lower() undoes casefold's mapping of Cherokee
    # small letters to capitals.
    text = unicodedata.normalize("NFKD", text.casefold()).lower()
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.translate(_LETTER_MAP).translate(_DROP_APOSTROPHES)
    text = _HYPHENS_RE.sub(" ", text)
    # NFC recomposes what NFKD split without accents (Hangul syllables), keeping the form compact.
    text = unicodedata.normalize("NFC", text)
    return _WHITESPACE_RE.sub(" ", text).strip()


def search_form(given: str, family: str) -> str:
    """``fold(family) + " " + fold(given)``, stripped: stored on the patient for name search.

    Family name first, matching how staff search ("nguyen sian") and how lists are sorted.
    """
    return f"{fold(family)} {fold(given)}".strip()


def display_name(given: str, family: str) -> str:
    """NHS common user interface form: ``"NGUYỄN, Siân"``; family name in capitals.

    Upper-casing is Unicode-aware and keeps accents and apostrophes (``"O'BRIEN"``). Runs of
    whitespace become one space. With no given name: just the family name; with no family name:
    just the given name (never a dangling comma).
    """
    family_part = _WHITESPACE_RE.sub(" ", family).strip().upper()
    given_part = _WHITESPACE_RE.sub(" ", given).strip()
    if family_part and given_part:
        return f"{family_part}, {given_part}"
    return family_part or given_part


class InvalidName(ValueError):
    """Raised for a name that cannot be stored; the message names the field for the person typing."""


# Zero-width non-joiner and joiner are format characters that Persian and Indic names need; every
# other format character (bidirectional overrides, zero-width spaces) is refused as hidden text.
_ALLOWED_FORMAT = frozenset("\u200c\u200d")
_ALLOWED_PUNCTUATION = frozenset("'\u2019\u2018\u02bc-\u2010\u2011.")
_SPACES_RE = re.compile(" +")


def validate_person_name(value: str, *, field: str, max_length: int = 100) -> str:
    """Return ``value`` stripped, NFC-normalised, runs of spaces made one; if it is a valid name.

    Accepted: letters in any script (with their combining marks), spaces, apostrophes (straight
    and curly), hyphens and full stops, with at least one letter. Raises :class:`InvalidName`,
    with a message naming ``field`` ("family name", "given name"), when the value is empty, longer
    than ``max_length`` characters, contains control or hidden characters, other punctuation,
    digits or symbols (``<``, ``;``, ``=``), or no letter at all.
    """
    # Any space character inside (no-break, thin, ...) becomes one plain space; tabs and newlines
    # inside are control characters and are refused below.
    spaced = "".join(" " if unicodedata.category(char) == "Zs" else char for char in value.strip())
    # NFC: a name typed with a decomposed accent (e + U+0301) is stored like a composed one.
    name = unicodedata.normalize("NFC", _SPACES_RE.sub(" ", spaced).strip(" "))
    if not name:
        raise InvalidName(f"Enter the {field}.")
    if len(name) > max_length:
        raise InvalidName(
            f"The {field} must be {max_length} characters or fewer; it has {len(name)}."
        )
    categories = [unicodedata.category(char) for char in name]
    if any(
        category in ("Cc", "Cs", "Co", "Cn") or (category == "Cf" and char not in _ALLOWED_FORMAT)
        for char, category in zip(name, categories, strict=True)
    ):
        raise InvalidName(
            f"The {field} contains a hidden or control character. Type it again without pasting."
        )
    refused = sorted(
        {
            char
            for char, category in zip(name, categories, strict=True)
            if not (
                category[0] in "LM"
                or char == " "
                or char in _ALLOWED_PUNCTUATION
                or char in _ALLOWED_FORMAT
            )
        }
    )
    if refused:
        shown = " ".join(refused)
        raise InvalidName(
            f"The {field} cannot contain these characters: {shown}. "
            "Names can contain letters, spaces, hyphens and apostrophes."
        )
    if not any(category[0] == "L" for category in categories):
        raise InvalidName(f"The {field} must contain at least one letter.")
    return name
