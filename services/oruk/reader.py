"""Reading the fields of one ORUK record, noting each problem against that record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from services.oruk.records import OrukProblem
from services.oruk.shape import uk_phone_e164


@dataclass
class RecordReader:
    """Reads the fields of one record, noting each problem against that record."""

    kind: str
    index: int
    raw: Any
    problems: list[OrukProblem]
    ok: bool = field(default=True, init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.raw, dict):
            self.raw = {}
            self.problem("", "must be a JSON object.")

    @property
    def record_id(self) -> str | None:
        value = self.raw.get("id")
        return value if isinstance(value, str) else None

    def problem(self, path: str, message: str) -> None:
        self.ok = False
        self.problems.append(OrukProblem(self.kind, self.index, self.record_id, path, message))

    def text(self, path: str, value: Any, *, required: bool = False, max_length: int = 200) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(path, "is required.")
            return ""
        if not isinstance(value, str):
            self.problem(path, "must be text.")
            return ""
        if len(value) > max_length:
            self.problem(
                path, f"is {len(value)} characters long; at most {max_length} are allowed."
            )
        return value

    def items(self, path: str, value: Any, *, at_most: int | None = None) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, "must be a list.")
            return []
        if at_most is not None and len(value) > at_most:
            self.problem(path, f"has {len(value)} entries; at most {at_most} is allowed.")
            return []
        return value

    def obj(self, path: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(path, "must be a JSON object.")
            return {}
        return value

    def flag(self, path: str, value: Any, *, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(path, "must be true or false.")
            return default
        return value

    def email(self, path: str, value: Any) -> str:
        email = self.text(path, value, max_length=254)
        if email:
            try:
                validate_email(email)
            except ValidationError:
                self.problem(path, f"{email!r} is not a valid email address.")
        return email

    def phone(self, path: str, value: Any) -> str:
        number = self.text(path, value, required=True, max_length=40)
        if number:
            try:
                return uk_phone_e164(number)
            except ValueError as error:
                self.problem(path, str(error))
        return ""

    def phones(self, path: str, value: Any) -> str:
        """At most one ``{"number": ...}``: its E.164 form, or ``""``."""
        entries = self.items(path, value, at_most=1)
        if not entries:
            return ""
        return self.phone(f"{path}[0].number", self.obj(f"{path}[0]", entries[0]).get("number"))

    def code(self, path: str, taxonomy: str, choices: type[Any]) -> str:
        """The code of the one attribute under ``taxonomy``, checked against ``choices``."""
        found = [
            (position, entry["taxonomy_term"])
            for position, entry in enumerate(self.items(path, self.raw.get(path)))
            if isinstance(entry, dict)
            and isinstance(entry.get("taxonomy_term"), dict)
            and entry["taxonomy_term"].get("taxonomy") == taxonomy
        ]
        if len(found) != 1:
            self.problem(
                path, f"needs exactly one attribute with taxonomy {taxonomy!r}, not {len(found)}."
            )
            return ""
        position, term = found[0]
        value = term.get("code")
        if value not in choices.values:
            self.problem(
                f"{path}[{position}].taxonomy_term.code",
                f"{value!r} is not a known code (expected one of {', '.join(choices.values)}).",
            )
            return ""
        return str(value)
