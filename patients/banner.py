"""The patient banner (NHS common user interface; docs/reference.md care-plan alerts), pure.

Callers pass the counts that live in other apps (calls in the last 7 days, open referrals) and
the death record, so the banner's rules stay here and are testable without a database.

After death the banner says when and where the patient died, and whether the preferred place of
death was achieved ("Died 2 December 2026, at hospice (preferred: patient's own home, not
achieved)"). The preferred places are the care plan's as they were when the death was recorded,
kept on the ``DeathRecord``, so editing the plan afterwards changes nothing. The alerts that only
matter while the patient is alive go (``LIVING_ONLY``): the CPR decision and its review, ReSPECT,
the key worker, the preferred place of death (now in the death line) or its absence, the care-plan
review, the repeat-caller warning and the interpreter. Open referrals stay: after a death they
are the family's bereavement support, still being worked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from patients.codes import CprDecision, PlaceOfDeath
from patients.models import CarePlan, DeathRecord, JustInCaseMedicine, Patient
from patients.names import display_name
from patients.nhs_number import format_nhs_number
from patients.selectors import age_on
from spoc.core.dates import nhs_date

# A patient who rang 3 or more times in 7 days is flagged: repeated calls are a warning sign.
REPEAT_CALLER_CALLS = 3
# Alerts that only matter to a living patient, left off once the patient has died.
LIVING_ONLY = frozenset(
    {
        "CPR",
        "CPR_UNKNOWN",
        "CPR_REVIEW_OVERDUE",
        "RESPECT",
        "KEY_WORKER",
        "PPD",
        "NO_PPD",
        "CARE_PLAN_REVIEW_OVERDUE",
        "REPEAT_CALLER",
        "INTERPRETER",
        "JIC_MEDICINES",
        "JIC_MEDICINES_NOT_LISTED",
    }
)


@dataclass(frozen=True)
class Alert:
    level: str  # "red" (act now), "orange" (needs attention), "blue" (information)
    text: str
    code: str


@dataclass(frozen=True)
class Banner:
    name: str
    nhs_number: str
    date_of_birth: date
    age: int
    address: str
    alerts: tuple[Alert, ...]
    # "Died 2 December 2026, at hospice (preferred: ..., achieved)"; "" while the patient lives.
    died: str = ""
    # The just-in-case medicines at home, one line each, for the clinicians' view of the banner.
    medicines: tuple[str, ...] = ()

    @property
    def tags(self) -> tuple[Alert, ...]:
        """The alerts shown as tags: all but the death, which the banner shows as its own line."""
        return tuple(alert for alert in self.alerts if alert.code != "DECEASED")


def place_words(code: str) -> str:
    """A death location code as words mid-sentence: "patient's own home", "hospice"."""
    if code == PlaceOfDeath.OTHER:
        return "another place"
    label = str(PlaceOfDeath(code).label)
    return label[:1].lower() + label[1:]


def death_line(*, died_at: datetime, death: DeathRecord | None) -> str:
    """ "Died 2 December 2026, at hospice (preferred: patient's own home or hospice, achieved)";
    just the date without a death record. The day is the day in England (a death at 00:30 BST
    is that day, although stored in UTC)."""
    line = f"Died {nhs_date(died_at)}"
    if death is None:
        return line
    preferred = [
        place_words(code)
        for code in (death.preferred_place_first, death.preferred_place_second)
        if code
    ]
    if death.preferred_place_achieved is None or not preferred:
        outcome = "no preference recorded"
    else:
        outcome = f"preferred: {' or '.join(preferred)}, {'achieved' if death.preferred_place_achieved else 'not achieved'}"
    return f"{line}, at {place_words(death.place)} ({outcome})"


def patient_banner(
    *,
    patient: Patient,
    care_plan: CarePlan | None,
    calls_last_7_days: int,
    open_referrals: int,
    today: date,
    death: DeathRecord | None = None,
    medicines: Sequence[JustInCaseMedicine] = (),
) -> Banner:
    """The banner of ``patient``; ``death`` is their death record, if any (read only when
    ``patient.died_at`` is set); ``medicines`` the just-in-case medicines still at home."""
    alerts: list[Alert] = []
    died = ""
    if patient.died_at is not None:
        died = death_line(died_at=patient.died_at, death=death)
        alerts.append(Alert("red", died, "DECEASED"))
    if care_plan is not None and care_plan.cpr_decision != CprDecision.UNKNOWN:
        when = f" ({nhs_date(care_plan.cpr_decision_date)})" if care_plan.cpr_decision_date else ""
        level = "red" if care_plan.cpr_decision == CprDecision.NOT_FOR_CPR else "blue"
        alerts.append(Alert(level, f"{care_plan.get_cpr_decision_display()}{when}", "CPR"))
        if care_plan.cpr_review_date and care_plan.cpr_review_date < today:
            alerts.append(
                Alert(
                    "orange",
                    f"CPR decision review overdue since {nhs_date(care_plan.cpr_review_date)}",
                    "CPR_REVIEW_OVERDUE",
                )
            )
    else:
        alerts.append(Alert("orange", "No CPR decision recorded", "CPR_UNKNOWN"))
    if care_plan is not None and care_plan.respect_exists:
        when = f" ({nhs_date(care_plan.respect_date)})" if care_plan.respect_date else ""
        where = f", kept at {care_plan.respect_kept_at}" if care_plan.respect_kept_at else ""
        recommends = f": {care_plan.get_respect_cpr_display()}" if care_plan.respect_cpr else ""
        alerts.append(Alert("blue", f"ReSPECT plan{when}{recommends}{where}", "RESPECT"))
    if care_plan is not None and care_plan.key_worker_name:
        phone = f" {care_plan.key_worker_phone.as_national}" if care_plan.key_worker_phone else ""
        alerts.append(
            Alert("blue", f"Key worker: {care_plan.key_worker_name}{phone}", "KEY_WORKER")
        )
    if care_plan is not None and care_plan.ppd_first:
        second = f"; 2nd {care_plan.get_ppd_second_display()}" if care_plan.ppd_second else ""
        alerts.append(
            Alert(
                "blue",
                f"Preferred place of death: {care_plan.get_ppd_first_display()}{second}",
                "PPD",
            )
        )
    if care_plan is None or not (care_plan.ppd_first or care_plan.ppd_not_stated):
        # PRSB standard: alert when the preferred place of death is not recorded.
        alerts.append(Alert("orange", "No preferred place of death recorded", "NO_PPD"))
    if care_plan is not None and care_plan.review_date and care_plan.review_date < today:
        alerts.append(
            Alert(
                "orange",
                f"Care plan review overdue since {nhs_date(care_plan.review_date)}",
                "CARE_PLAN_REVIEW_OVERDUE",
            )
        )
    if calls_last_7_days >= REPEAT_CALLER_CALLS:
        alerts.append(
            Alert("orange", f"Repeat caller: {calls_last_7_days} calls in 7 days", "REPEAT_CALLER")
        )
    if open_referrals:
        alerts.append(
            Alert(
                "blue",
                f"{open_referrals} open referral{'s' if open_referrals != 1 else ''}",
                "OPEN_REFERRALS",
            )
        )
    alerts.extend(_medicine_alerts(care_plan, medicines))
    if patient.interpreter_needed:
        language = f" ({patient.language})" if patient.language else ""
        alerts.append(Alert("blue", f"Interpreter needed{language}", "INTERPRETER"))
    # One line: the address's own lines (typed one per line) and the postcode, comma-separated.
    if patient.died_at is not None:
        alerts = [alert for alert in alerts if alert.code not in LIVING_ONLY]
    lines = [" ".join(line.split()).strip(" ,") for line in patient.address.splitlines()]
    address = ", ".join(part for part in [*lines, patient.postcode] if part)
    return Banner(
        name=display_name(patient.given_name, patient.family_name),
        nhs_number=format_nhs_number(patient.nhs_number) if patient.nhs_number else "Not known",
        date_of_birth=patient.date_of_birth,
        age=age_on(patient.date_of_birth, today),
        address=address,
        alerts=tuple(alerts),
        died=died,
        medicines=tuple(medicine_line(m) for m in medicines) if patient.died_at is None else (),
    )


def medicine_line(medicine: JustInCaseMedicine) -> str:
    """ "Morphine sulfate 10 mg/1 ml injection: 2.5-5 mg subcut 1-hourly as needed (10 ampoules)",
    as prescribed."""
    return f"{medicine.name}: {medicine.dose_route} ({medicine.quantity})"


def _medicine_alerts(
    care_plan: CarePlan | None, medicines: Sequence[JustInCaseMedicine]
) -> list[Alert]:
    """Where the just-in-case medicines are, for whoever answers out of hours (hazard H-033); and
    a warning when the care plan says they were issued but none is listed."""
    if medicines:
        places = list(dict.fromkeys(m.kept_at for m in medicines))
        count = len(medicines)
        return [
            Alert(
                "blue",
                f"Just-in-case medicines at home ({count}), kept at {'; '.join(places)}",
                "JIC_MEDICINES",
            )
        ]
    if care_plan is not None and care_plan.anticipatory_meds_issued:
        return [
            Alert(
                "orange",
                "Just-in-case medicines issued but not listed",
                "JIC_MEDICINES_NOT_LISTED",
            )
        ]
    return []
