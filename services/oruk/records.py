"""What an ORUK file holds once checked, and how problems with it are reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any


@dataclass(frozen=True)
class OrukProblem:
    """One thing wrong with a file: which record (list, position, id), which field, and why."""

    kind: str
    index: int | None
    record_id: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.kind if self.index is None else f"{self.kind}[{self.index}]"
        if self.record_id:
            where += f" (id {self.record_id!r})"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class OrukImportError(ValueError):
    """The file was refused and nothing was changed; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[OrukProblem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        heading = f"The directory was not imported: {count} problem{'s' if count != 1 else ''}."
        super().__init__("\n".join([heading, *(f"- {problem}" for problem in self.problems)]))


@dataclass(frozen=True)
class OrganisationRecord:
    index: int
    ref: str
    ods_code: str
    name: str
    org_type: str


@dataclass(frozen=True)
class SiteRecord:
    index: int
    ref: str
    code: str
    name: str
    postcode: str
    ods_code: str


@dataclass(frozen=True)
class TeamRecord:
    name: str
    duty_phone: str  # E.164, or "" for none
    duty_email: str


@dataclass(frozen=True)
class ServiceRecord:
    """A service as it should be stored; collections are sorted, so they compare as sets."""

    index: int
    ref: str
    name: str
    ods_code: str
    fields: dict[str, Any]  # the Service model's own columns, by model field name
    team: TeamRecord | None
    areas: tuple[str, ...]
    hours: tuple[tuple[int, time, time], ...]
    closures: tuple[tuple[datetime, datetime, str], ...]
    site_codes: tuple[str, ...]


@dataclass(frozen=True)
class DirectoryRecords:
    organizations: tuple[OrganisationRecord, ...]
    sites: tuple[SiteRecord, ...]
    services: tuple[ServiceRecord, ...]
