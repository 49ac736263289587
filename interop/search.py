"""FHIR search parameters, parsed without the database (docs/interop.md, "Searches").

The API is strict: a parameter it does not declare, a modifier, a repeated parameter, an empty
or malformed value is refused (SearchError, a 400 with an OperationOutcome) rather than ignored,
so a client never mistakes a search the hub did not do for an answer. A well-formed value that
can name nothing here (an id the hub never issues, another identifier system, a reference to a
type the parameter never points at) is a search that matches nothing."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from spoc.core.api import MAX_ID

# FHIR R4 id: 1-64 of A-Z, a-z, 0-9, "-" and ".".
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
# Row ids start at 1: 0 is the id of nothing.
NO_MATCH = 0
# A parameter name safe to repeat in a message; any other is "an unknown parameter".
_SHOWN_NAME = re.compile(r"[A-Za-z0-9_\-.:]{1,40}")

DEFAULT_COUNT = 50
MAX_COUNT = 100
# Result parameters (FHIR R4 search.html, "Paging" and "Summary"): `_count`, the cursor the
# Bundle's next link carries and `_total`; `_format` is read by the content negotiation.
RESULT_PARAMS = frozenset({"_count", "_cursor", "_total", "_format"})
# `_total` values the API answers: `estimate` (FHIR's third) is refused, not treated as either.
TOTALS = ("none", "accurate")
INVALID_CURSOR = "_cursor is not one a search gave: start again from the first page."
# A cursor's sort value is a name or a moment: anything longer was not made here.
_MAX_CURSOR_VALUE = 200


class SearchError(ValueError):
    """A search the API refuses: ``code`` is the OperationOutcome issue type (``invalid`` for a
    malformed value, ``not-supported`` for a parameter the hub does not offer)."""

    def __init__(self, message: str, *, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Page:
    """What a search's result parameters ask for: ``size`` matches (0: none, the total alone),
    those after ``after`` (the sort value and id of the last match of the page before, from the
    next link's cursor), and whether to count every match (``_total=accurate``)."""

    size: int = DEFAULT_COUNT
    after: tuple[str, int] | None = None
    accurate_total: bool = False

    @property
    def counts(self) -> bool:
        """Whether the Bundle must say how many match in all: asked for, or ``_count=0``."""
        return self.accurate_total or self.size == 0


def cursor_encode(value: str, last_id: int) -> str:
    """The ``_cursor`` of the page after a match whose sort value is ``value`` (a name, or a
    moment in ISO 8601) and whose id is ``last_id``: opaque to clients, read by cursor_decode."""
    text = json.dumps([value, last_id], separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(text: str) -> tuple[str, int]:
    """(sort value, id) from a ``_cursor``; SearchError for anything cursor_encode did not make."""
    try:
        found = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        found = None
    if not (
        isinstance(found, list)
        and len(found) == 2
        and isinstance(found[0], str)
        and len(found[0]) <= _MAX_CURSOR_VALUE
        and type(found[1]) is int
        and 0 < found[1] <= MAX_ID
    ):
        raise SearchError(INVALID_CURSOR)
    return found[0], found[1]


@dataclass(frozen=True)
class SearchParam:
    """One search parameter a resource type offers: its FHIR name and type, the R4
    SearchParameter it implements, what it does, and ``parse`` (value -> criterion; raises
    SearchError)."""

    name: str
    type: str
    definition: str
    documentation: str
    parse: Callable[[str], Any]


def row_id(text: str) -> int | None:
    """The primary key a FHIR id names: None when the text is no FHIR id at all; NO_MATCH for
    a FHIR id the hub never issues (not digits, or past the largest key)."""
    if not FHIR_ID.fullmatch(text):
        return None
    if text.isdigit() and 0 < int(text) <= MAX_ID:
        return int(text)
    return NO_MATCH


def _id_of(text: str, what: str) -> int:
    found = row_id(text)
    if found is None:
        raise SearchError(f"{what} is not a FHIR id.")
    return found


def reference(
    value: str, *, name: str, targets: Sequence[str], bare: str | None = None
) -> tuple[str, int]:
    """A reference parameter's value, ``Type/<id>`` (or a bare id of type ``bare`` where one is
    allowed), as (type, row id). A type the parameter does not point at is (first target,
    NO_MATCH)."""
    kind, slash, text = value.partition("/")
    if not slash:
        if bare is None:
            raise SearchError(
                f"{name} needs the resource type: {' or '.join(f'{t}/<id>' for t in targets)}."
            )
        return bare, _id_of(value, name)
    if not RESOURCE_TYPE.fullmatch(kind):
        raise SearchError(f"{name} must be a reference such as {targets[0]}/<id>.")
    found = _id_of(text, name)
    if kind not in targets:
        return targets[0], NO_MATCH
    return kind, found


def token(value: str, *, name: str, system: str, code: re.Pattern[str], shape: str) -> str | None:
    """A token parameter's value, ``system|code`` or ``code``, as the code; None when it names
    another system (``|code``, no system, included), which matches nothing here."""
    given_system, bar, text = value.rpartition("|") if "|" in value else ("", "", value)
    if "|" in given_system:
        raise SearchError(f"{name} takes one system|code.")
    if not text:
        raise SearchError(
            f"{name} needs a code after the system: any code of a system is not searched."
        )
    if not code.fullmatch(text):
        raise SearchError(f"{name} must be {shape}.")
    if bar and given_system != system:
        return None
    return text


def _integer(value: str, *, name: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise SearchError(f"{name} must be a whole number from {low} to {high}.")
    return int(value)


def _shown(name: str) -> str:
    return name if _SHOWN_NAME.fullmatch(name) else "an unknown parameter"


def search_parse(
    query: Mapping[str, Sequence[str]], params: Sequence[SearchParam], *, needs_one: bool = False
) -> tuple[dict[str, Any], Page]:
    """The criteria (parameter name -> parsed value) and the page a query asks for. Raises
    SearchError for anything the API does not offer or cannot read; with ``needs_one``, for a
    query with no criterion (a Patient search must say whom it looks for)."""
    declared = {param.name: param for param in params}
    criteria: dict[str, Any] = {}
    page = Page()
    for name, values in query.items():
        if name not in declared and name not in RESULT_PARAMS:
            raise SearchError(
                f"The search parameter {_shown(name)} is not supported here.", code="not-supported"
            )
        if len(values) != 1:
            raise SearchError(f"Give {name} once.")
        value = values[0]
        if name == "_count":
            page = replace(page, size=_integer(value, name=name, low=0, high=MAX_COUNT))
        elif name == "_cursor":
            page = replace(page, after=cursor_decode(value))
        elif name == "_total":
            if value not in TOTALS:
                raise SearchError(
                    f"_total must be {' or '.join(TOTALS)}: an estimate is not offered.",
                    code="not-supported" if value == "estimate" else "invalid",
                )
            page = replace(page, accurate_total=value == "accurate")
        elif name in declared:
            if not value:
                raise SearchError(f"{name} needs a value.")
            if "," in value:
                raise SearchError(
                    f"{name} takes one value: several, comma-separated, are not supported.",
                    code="not-supported",
                )
            criteria[name] = declared[name].parse(value)
    if needs_one and not criteria:
        raise SearchError(f"Search by {' or '.join(declared)}.")
    return criteria, page
