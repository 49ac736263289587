"""Triage decision support (docs/design.md §4): suggest a priority from what the call handler recorded.

Pure: the handler's answers go in, a suggested priority and *every* reason for it come out. The
handler sees all the reasons (not only the winning one), may choose another priority with a
mandatory reason, and such overrides are reported (:func:`is_override`).

No national palliative triage standard exists (docs/reference.md "Urgency"); these rules are local
defaults, documented in ``docs/triage.md``. The highest rule wins:

====  ==============================================================================
P1    any red flag (the screen shows the CPR / ReSPECT status next to the suggestion)
P2    phase of illness Unstable; any IPOS item scored 4; carer coping "Crisis tonight"
P3    phase of illness Dying; any IPOS item scored 3; call reason "Death notification"
P4    phase of illness Deteriorating
P5    none of the above
====  ==============================================================================

What was not recorded is said, never read as a negative answer: red flags not asked (``None``,
unlike ``()``, asked and none present) and a Phase of Illness not assessed each add a reason
with no priority ("Red flags not asked", "Phase of Illness not assessed"), and with nothing
urgent and the red flags not asked the P5 reason says "among the answers recorded" rather than
"No urgent features recorded".

Each need of a call has its own priority (:func:`suggest_need_priority`). Clinical needs take the
suggestion above. Support for the people around the patient is not made urgent by the patient's
symptoms, and the care network's needs have the clock their service works to, so these needs take
their own defaults (docs/triage.md "Each need's priority"):

================================  ==============================================================
Carer support                     P4, or the carer's latest needs assessment's (P3-P5,
                                  patients/carers.py); P3 when the carer is in crisis tonight or
                                  the call is about a carer crisis
Bereavement support               P5; P4 when the call notifies the death
GP out of hours                   the suggestion above, at least P3 (out of hours means today)
Verification of expected death    P3 (within 4 hours, day or night)
Rapid discharge home to die       P2 (a dying patient waiting in hospital)
Just-in-case medicines            P4; P3 when dying or unstable, or a symptom scored 3 or 4
Equipment                         P4; P3 when dying or unstable
Fast-track continuing healthcare  P4; P3 when dying
Social care package               P4; P3 when the carer is in crisis tonight or the call is
                                  about a carer crisis
================================  ==============================================================

Changing a rule means changing this module, its tests and :data:`TRIAGE_RULES_VERSION`, which is
stored with each suggestion so that reports can tell which rules produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from patients.codes import IPOS_SCORES, IposItem, PatientLocation, PhaseOfIllness
from referrals.codes import CallReason, CarerCoping, RedFlag
from services.codes import Need, Priority
from spoc.core.dates import nhs_date

__all__ = [
    "OWN_DEFAULT_NEEDS",
    "SUPPORT_NEEDS",
    "TRIAGE_RULES_VERSION",
    "CarerAssessed",
    "InvalidTriage",
    "Suggestion",
    "TriageInput",
    "highest_priority",
    "is_override",
    "priority_rank",
    "suggest_need_priority",
    "suggest_priority",
]

TRIAGE_RULES_VERSION = "2026-12d"
"""Version of the rules below; stored with each suggestion. Change it whenever a rule changes."""

# OACC IPOS: each item is scored 0 (not at all) to 4 (overwhelmingly).
_IPOS_MIN, _IPOS_MAX = 0, 4
# docs/design.md §4: an item scored 4 suggests P2, an item scored 3 suggests P3.
_IPOS_PRIORITY: dict[int, str] = {4: Priority.P2.value, 3: Priority.P3.value}
# "4 Overwhelmingly" -> "overwhelmingly": the code list's wording, for the reason text.
_IPOS_WORDS = {score: label.split(" ", 1)[1].lower() for score, label in IPOS_SCORES}

_PHASE_PRIORITY: dict[str, str] = {
    PhaseOfIllness.UNSTABLE.value: Priority.P2.value,
    PhaseOfIllness.DYING.value: Priority.P3.value,
    PhaseOfIllness.DETERIORATING.value: Priority.P4.value,
}
_RED_FLAG_ORDER = {code: position for position, code in enumerate(RedFlag.values)}
_IPOS_ORDER = {code: position for position, code in enumerate(IposItem.values)}
_PRIORITY_RANK = {code: rank for rank, code in enumerate(Priority.values, start=1)}


class InvalidTriage(ValueError):
    """Raised for triage answers the rules cannot judge (unknown code, score outside 0-4).

    The message names the item, so a form or the API can show it as is.
    """


def _check_code(value: str | None, valid: Collection[str], what: str) -> None:
    if value is not None and value not in valid:
        raise InvalidTriage(f"Unknown {what} code {value!r}.")


@dataclass(frozen=True)
class TriageInput:
    """What the call handler recorded (docs/design.md §4). Every field is optional.

    ``red_flags`` is ``None`` when they were not asked, ``()`` when asked and none is present.
    ``phase`` is ``None`` when not assessed (it is a clinician's rating). ``ipos`` maps an IPOS
    item code to its score (0-4); items not asked are left out.
    ``patient_location`` is recorded for context and validated; no rule uses it today.
    Constructing an input with an unknown code or an out-of-range score raises
    :class:`InvalidTriage`; the fields are then normalised to immutable values (``ipos`` a
    read-only mapping, ``red_flags`` a tuple in code-list order without repeats).
    """

    phase: str | None = None
    ipos: Mapping[str, int] = field(default_factory=dict, hash=False)
    red_flags: Collection[str] | None = None
    carer_coping: str | None = None
    reason: str | None = None
    patient_location: str | None = None

    def __post_init__(self) -> None:
        _check_code(self.phase, PhaseOfIllness.values, "phase of illness")
        _check_code(self.carer_coping, CarerCoping.values, "carer coping")
        _check_code(self.reason, CallReason.values, "call reason")
        _check_code(self.patient_location, PatientLocation.values, "patient location")
        if isinstance(self.red_flags, str):
            raise InvalidTriage("Red flags must be a list of codes, not one string.")
        for flag in self.red_flags or ():
            _check_code(flag, RedFlag.values, "red flag")
        for item, score in self.ipos.items():
            _check_code(item, IposItem.values, "IPOS item")
            label = IposItem(item).label
            if isinstance(score, bool) or not isinstance(score, int):
                raise InvalidTriage(
                    f"{label} score must be a whole number from {_IPOS_MIN} to {_IPOS_MAX}; "
                    f"got {score!r}."
                )
            if not _IPOS_MIN <= score <= _IPOS_MAX:
                raise InvalidTriage(
                    f"{label} score must be from {_IPOS_MIN} to {_IPOS_MAX}; got {score}."
                )
        ordered_ipos = dict(sorted(self.ipos.items(), key=lambda pair: _IPOS_ORDER[pair[0]]))
        object.__setattr__(self, "ipos", MappingProxyType(ordered_ipos))
        if self.red_flags is not None:
            flags = tuple(sorted(set(self.red_flags), key=_RED_FLAG_ORDER.__getitem__))
            object.__setattr__(self, "red_flags", flags)

    @property
    def red_flags_asked(self) -> bool:
        return self.red_flags is not None


@dataclass(frozen=True)
class Suggestion:
    """The suggested priority and every rule that fired, highest priority first.

    Each reason is plain words ending in the priority it suggests ("Red flag: Major bleed → P1").
    When no rule fired the first reason is "No urgent features recorded → P5", or "No urgent
    features among the answers recorded → P5" when the red flags were not asked. Then, without a
    priority, what was not recorded: "Red flags not asked", "Phase of Illness not assessed".
    """

    priority: str
    reasons: tuple[str, ...]


def _fired_rules(triage: TriageInput) -> list[tuple[str, str]]:
    """(priority, reason without the arrow) for each rule that fired, in the order of the table."""
    fired: list[tuple[str, str]] = [
        (Priority.P1.value, f"Red flag: {RedFlag(flag).label}") for flag in triage.red_flags or ()
    ]
    if triage.phase in _PHASE_PRIORITY:
        fired.append(
            (
                _PHASE_PRIORITY[triage.phase],
                f"Phase of illness {PhaseOfIllness(triage.phase).label}",
            )
        )
    for item, score in triage.ipos.items():
        score_priority = _IPOS_PRIORITY.get(score)
        if score_priority is not None:
            label = IposItem(item).label
            fired.append((score_priority, f"{label} scored {score} ({_IPOS_WORDS[score]})"))
    if triage.carer_coping == CarerCoping.CRISIS_TONIGHT:
        fired.append((Priority.P2.value, "Carer in crisis tonight"))
    if triage.reason == CallReason.DEATH_NOTIFICATION:
        fired.append(
            (Priority.P3.value, f"{CallReason.DEATH_NOTIFICATION.label}: verification needed")
        )
    return fired


def suggest_priority(triage: TriageInput) -> Suggestion:
    """Suggest a priority for ``triage``: the highest priority of any rule that fired, else P5.

    ``reasons`` lists every rule that fired, highest priority first and, within a priority, in
    the order of the rules table (red flags and IPOS items in code-list order), so the handler
    sees everything that was taken into account. Invalid input cannot reach here: it is refused
    by :class:`TriageInput` with :class:`InvalidTriage`.
    """
    fired = _fired_rules(triage)
    not_recorded = _not_recorded(triage)
    if not fired:
        nothing = NOTHING_URGENT if triage.red_flags_asked else NOTHING_URGENT_AMONG_THE_ANSWERS
        return Suggestion(Priority.P5.value, (f"{nothing} → {Priority.P5.value}", *not_recorded))
    # sorted() is stable, so rules of equal priority keep the order of the table.
    fired.sort(key=lambda rule: _PRIORITY_RANK[rule[0]])
    return Suggestion(
        priority=fired[0][0],
        reasons=(*(f"{text} → {priority}" for priority, text in fired), *not_recorded),
    )


NOTHING_URGENT = "No urgent features recorded"
NOTHING_URGENT_AMONG_THE_ANSWERS = "No urgent features among the answers recorded"
RED_FLAGS_NOT_ASKED = "Red flags not asked"
PHASE_NOT_ASSESSED = "Phase of Illness not assessed"


def _not_recorded(triage: TriageInput) -> tuple[str, ...]:
    """What the rules could not judge because it was not recorded: unknown is not absent."""
    return tuple(
        text
        for text, missing in (
            (RED_FLAGS_NOT_ASKED, not triage.red_flags_asked),
            (PHASE_NOT_ASSESSED, triage.phase is None),
        )
        if missing
    )


def priority_rank(priority: str) -> int:
    """1 for P1 (most urgent) to 5 for P5; raises :class:`InvalidTriage` for an unknown code."""
    try:
        return _PRIORITY_RANK[priority]
    except KeyError:
        raise InvalidTriage(f"Unknown priority code {priority!r}.") from None


def is_override(suggested: str, chosen: str) -> bool:
    """True when the handler chose a priority other than the suggestion (either direction).

    Overrides need a reason and are reported. Raises :class:`InvalidTriage` for unknown codes.
    """
    return priority_rank(suggested) != priority_rank(chosen)


SUPPORT_NEEDS = frozenset({Need.CARER_SUPPORT.value, Need.BEREAVEMENT_SUPPORT.value})
"""Support for the people around the patient: never raised by the patient's symptoms."""


# An IPOS score of 3 (severely) or 4 (overwhelmingly): the symptoms the medicines are for.
_SEVERE_SCORE = 3


def _carer_in_crisis(triage: TriageInput, label: str) -> list[str]:
    raised = []
    if triage.carer_coping == CarerCoping.CRISIS_TONIGHT:
        raised.append(f"{label}: carer in crisis tonight → {Priority.P3.value}")
    if triage.reason == CallReason.CARER_CRISIS:
        raised.append(
            f"{label}: call about a {CallReason.CARER_CRISIS.label.lower()} → {Priority.P3.value}"
        )
    return raised


def _dying_or_unstable(triage: TriageInput, label: str, *, symptoms: bool = False) -> list[str]:
    """The reasons to act the same day for a patient in the last days or whose state changes fast
    (and, with ``symptoms``, whose symptoms are severe: what just-in-case medicines treat)."""
    raised = []
    if triage.phase in (PhaseOfIllness.DYING, PhaseOfIllness.UNSTABLE):
        phase = PhaseOfIllness(triage.phase).label
        raised.append(f"{label}: phase of illness {phase} → {Priority.P3.value}")
    if symptoms:
        for item, score in triage.ipos.items():
            if score >= _SEVERE_SCORE:
                raised.append(
                    f"{label}: {IposItem(item).label} scored {score} → {Priority.P3.value}"
                )
    return raised


def _same_day_or_default(raised: list[str], label: str, default: str) -> Suggestion:
    if raised:
        return Suggestion(Priority.P3.value, tuple(raised))
    return Suggestion(default, (f"{label}: default → {default}",))


@dataclass(frozen=True)
class CarerAssessed:
    """The latest carer's needs assessment in force for the carer that carer support is for
    (patients/carers.py): who, when, the priority it suggested and its first reason."""

    who: str
    assessment_date: date
    priority: str
    reason: str


def _carer_support(triage: TriageInput, carer: CarerAssessed | None = None) -> Suggestion:
    """P4, or the carer's assessment's suggestion; a crisis raises it to P3. The most urgent wins
    and every reason is listed, so an assessment never hides a crisis."""
    label = Need.CARER_SUPPORT.label
    raised = _carer_in_crisis(triage, label)
    if carer is None:
        return _same_day_or_default(raised, label, Priority.P4.value)
    fired = [(Priority.P3.value, reason) for reason in raised]
    fired.append(
        (
            carer.priority,
            f"{label}: {carer.who}'s assessment of {nhs_date(carer.assessment_date)}: "
            f"{carer.reason}",
        )
    )
    fired.sort(key=lambda rule: _PRIORITY_RANK[rule[0]])
    return Suggestion(fired[0][0], tuple(reason for _priority, reason in fired))


def _bereavement_support(triage: TriageInput) -> Suggestion:
    label = Need.BEREAVEMENT_SUPPORT.label
    if triage.reason == CallReason.DEATH_NOTIFICATION:
        return Suggestion(
            Priority.P4.value,
            (f"{label}: death notified on this call → {Priority.P4.value}",),
        )
    return Suggestion(Priority.P5.value, (f"{label}: default → {Priority.P5.value}",))


def _gp_out_of_hours(triage: TriageInput) -> Suggestion:
    clinical = suggest_priority(triage)
    if priority_rank(clinical.priority) <= priority_rank(Priority.P3.value):
        return clinical
    label = Need.GP_OUT_OF_HOURS.label
    return Suggestion(
        Priority.P3.value,
        (f"{label}: seen the same day → {Priority.P3.value}", *clinical.reasons),
    )


def _fixed(need: Need, priority: str, why: str) -> Callable[[TriageInput], Suggestion]:
    def suggest(_triage: TriageInput) -> Suggestion:
        return Suggestion(priority, (f"{need.label}: {why} → {priority}",))

    return suggest


def _just_in_case_medicines(triage: TriageInput) -> Suggestion:
    label = Need.JUST_IN_CASE_MEDICINES.label
    raised = _dying_or_unstable(triage, label, symptoms=True)
    return _same_day_or_default(raised, label, Priority.P4.value)


def _equipment(triage: TriageInput) -> Suggestion:
    label = Need.EQUIPMENT.label
    return _same_day_or_default(_dying_or_unstable(triage, label), label, Priority.P4.value)


def _chc_fast_track(triage: TriageInput) -> Suggestion:
    label = Need.CHC_FAST_TRACK.label
    raised = (
        [f"{label}: phase of illness {PhaseOfIllness.DYING.label} → {Priority.P3.value}"]
        if triage.phase == PhaseOfIllness.DYING
        else []
    )
    return _same_day_or_default(raised, label, Priority.P4.value)


def _social_care_package(triage: TriageInput) -> Suggestion:
    label = Need.SOCIAL_CARE_PACKAGE.label
    return _same_day_or_default(_carer_in_crisis(triage, label), label, Priority.P4.value)


_OWN_RULES: dict[str, Callable[[TriageInput], Suggestion]] = {
    Need.CARER_SUPPORT.value: _carer_support,
    Need.BEREAVEMENT_SUPPORT.value: _bereavement_support,
    Need.GP_OUT_OF_HOURS.value: _gp_out_of_hours,
    # Care after death: verified within 4 hours, day or night (P3's contact clock).
    Need.VERIFICATION_OF_DEATH.value: _fixed(
        Need.VERIFICATION_OF_DEATH, Priority.P3.value, "the same day, within 4 hours"
    ),
    # A patient in the last days of life waiting in a hospital bed to go home: 2-hour response.
    Need.RAPID_DISCHARGE.value: _fixed(
        Need.RAPID_DISCHARGE, Priority.P2.value, "a dying patient waiting in hospital"
    ),
    Need.JUST_IN_CASE_MEDICINES.value: _just_in_case_medicines,
    Need.EQUIPMENT.value: _equipment,
    Need.CHC_FAST_TRACK.value: _chc_fast_track,
    Need.SOCIAL_CARE_PACKAGE.value: _social_care_package,
}

OWN_DEFAULT_NEEDS = frozenset(_OWN_RULES)
"""Needs with their own default priority, which do not follow the call's chosen priority; every
other need is clinical and takes the call's suggestion (:func:`suggest_need_priority`)."""


def suggest_need_priority(
    triage: TriageInput, need: str, *, carer: CarerAssessed | None = None
) -> Suggestion:
    """Suggest a priority for one need of the call.

    Clinical needs take :func:`suggest_priority`. The needs of :data:`OWN_DEFAULT_NEEDS` take
    their own rule (the table in the module docstring): carer support is P4, or what the carer's
    latest needs assessment in force suggests (``carer``), raised to P3 when the
    carer is in crisis tonight or the call is about a carer crisis (the carer-crisis P2 of the
    rules table stays with the clinical needs: overnight support, an urgent visit); bereavement
    support is P5, P4 when the call notifies the death. Red flags, symptoms and the phase of
    illness never raise these two: a carer's service cannot meet a P1 clock, and the patient's
    emergency is the clinical need's. Raises :class:`InvalidTriage` for an unknown need code.
    """
    if need not in Need.values:
        raise InvalidTriage(f"Unknown need code {need!r}.")
    if need == Need.CARER_SUPPORT:
        return _carer_support(triage, carer)
    rule = _OWN_RULES.get(need)
    return rule(triage) if rule is not None else suggest_priority(triage)


def highest_priority(priorities: Collection[str]) -> str:
    """The most urgent of ``priorities`` (P1 before P5); raises :class:`InvalidTriage` when empty
    or for an unknown code."""
    if not priorities:
        raise InvalidTriage("No priorities to compare.")
    return min(priorities, key=priority_rank)
