"""What a GP practice is told when a referral is completed or the patient dies (docs/interop.md,
"The GP hears back"): the facts of one letter, read once from the rows
(``referrals.selectors.letters``) and then only read. The same object feeds the FHIR document
and the PDF (``interop/letters.py``), so the two never say different things.

Plain values only (labels already looked up, times aware): the rendering needs no database and
its tests need no rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


class LetterKind:
    COMPLETION = "COMPLETION"
    DEATH = "DEATH"


@dataclass(frozen=True)
class LetterOrganisation:
    ods_code: str
    name: str
    postcode: str = ""


@dataclass(frozen=True)
class LetterIntervention:
    at: datetime
    kind: str  # the intervention type's label ("Home visit")


@dataclass(frozen=True)
class LetterReferral:
    reference: str  # REF-000123
    need: str  # the need's label
    priority: str  # the priority's label ("P2 Urgent (2-hour response)")
    asked_at: datetime
    # Who asked: the caller's type and organisation (never a caller's name), or the partner
    # system and the requester it named; "" for a referral the hub made itself.
    asked_by: str
    team: str  # the team that held it at the end, or ""
    interventions: tuple[LetterIntervention, ...]
    outcome: str  # the outcome's label, or ""
    closed_at: datetime | None


@dataclass(frozen=True)
class LetterDeath:
    died_at: datetime
    place: str  # the place of death's label
    # The preferred places in force when the death was recorded, first then second (labels).
    preferred: tuple[str, ...]
    # None: no preference was recorded (neither achieved nor missed).
    achieved: bool | None
    expected: bool | None


@dataclass(frozen=True)
class LetterData:
    """One letter to one practice. ``letter_id`` (a UUID) names it everywhere: the document
    Bundle's identifier, the files of the drop folder."""

    letter_id: str
    kind: str  # LetterKind
    written_at: datetime
    patient_id: int
    nhs_number: str  # "" while not known
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str  # FHIR administrative-gender, as Patient.sex stores it
    practice: LetterOrganisation
    # Who writes: the organisation of the team that held the referral, or the hub's own (the
    # coordinators' organisation) for a death; ``signed_by`` names the team.
    author: LetterOrganisation
    signed_by: str
    referrals: tuple[LetterReferral, ...] = field(default=())
    death: LetterDeath | None = None
