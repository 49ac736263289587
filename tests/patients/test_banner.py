"""patients.banner: the patient banner and its alerts, from unsaved records (no database).

No test here is marked for the database, so any query the banner made would fail the test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from patients.banner import REPEAT_CALLER_CALLS, Alert, Banner, patient_banner
from patients.codes import CprDecision, PlaceOfDeath, PreferenceNotStated
from patients.models import CarePlan, DeathRecord, JustInCaseMedicine, Patient

TODAY = date(2026, 3, 16)


def patient(**fields: Any) -> Patient:
    values: dict[str, Any] = {
        "given_name": "Mai",
        "family_name": "Nguyễn",
        "nhs_number": "9990000018",
        "date_of_birth": date(1948, 3, 14),
        "address": "12 Rice Lane",
        "postcode": "L9 7AL",
    }
    values.update(fields)
    return Patient(**values)


def plan(**fields: Any) -> CarePlan:
    """A care plan with a preferred place and a CPR decision, so it raises no alert by itself."""
    values: dict[str, Any] = {
        "version": 1,
        "ppd_first": PlaceOfDeath.OWN_HOME,
        "cpr_decision": CprDecision.FOR_CPR,
        "cpr_decision_date": date(2026, 3, 1),
    }
    values.update(fields)
    return CarePlan(**values)


def banner(
    *,
    who: Patient | None = None,
    care_plan: CarePlan | None = None,
    calls: int = 0,
    open_referrals: int = 0,
    today: date = TODAY,
    medicines: tuple[JustInCaseMedicine, ...] = (),
) -> Banner:
    return patient_banner(
        patient=who or patient(),
        care_plan=care_plan,
        calls_last_7_days=calls,
        open_referrals=open_referrals,
        today=today,
        medicines=medicines,
    )


def codes(result: Banner) -> list[str]:
    return [alert.code for alert in result.alerts]


def alert(result: Banner, code: str) -> Alert:
    matches = [a for a in result.alerts if a.code == code]
    assert len(matches) == 1, codes(result)
    return matches[0]


# --- Name, NHS number, date of birth, age, address ------------------------------------------------


def test_name_is_family_name_in_capitals_then_given_name():
    assert banner().name == "NGUYỄN, Mai"


def test_name_keeps_apostrophes_and_hyphens():
    assert (
        banner(who=patient(given_name="Zoë-Ann", family_name="O'Brien")).name == "O'BRIEN, Zoë-Ann"
    )


def test_nhs_number_is_shown_in_three_groups():
    assert banner().nhs_number == "999 000 0018"


def test_missing_nhs_number_is_shown_as_not_known():
    assert banner(who=patient(nhs_number=None)).nhs_number == "Not known"


def test_date_of_birth_is_shown_with_the_nhs_number():
    result = banner()
    assert (result.nhs_number, result.date_of_birth) == ("999 000 0018", date(1948, 3, 14))


@pytest.mark.parametrize(
    ("date_of_birth", "age"),
    [
        pytest.param(date(1948, 3, 16), 78, id="birthday-today"),
        pytest.param(date(1948, 3, 17), 77, id="birthday-tomorrow"),
        pytest.param(date(1948, 3, 15), 78, id="birthday-yesterday"),
        pytest.param(date(1948, 12, 31), 77, id="birthday-later-this-year"),
        pytest.param(date(1948, 1, 1), 78, id="birthday-earlier-this-year"),
        pytest.param(TODAY, 0, id="born-today"),
        pytest.param(date(2025, 3, 17), 0, id="one-tomorrow"),
    ],
)
def test_age_is_whole_years_on_the_day(date_of_birth, age):
    assert banner(who=patient(date_of_birth=date_of_birth)).age == age


@pytest.mark.parametrize(
    ("today", "age"),
    [
        (date(2026, 2, 28), 77),
        (date(2026, 3, 1), 78),
        (date(2028, 2, 28), 79),
        (date(2028, 2, 29), 80),
    ],
)
def test_leap_day_birthday_counts_from_1_march_in_other_years(today, age):
    assert banner(who=patient(date_of_birth=date(1948, 2, 29)), today=today).age == age


def test_address_lines_and_postcode_make_one_line():
    who = patient(address="12  Rice Lane,\n  Walton\r\nLiverpool\n", postcode="L9 7AL")
    assert banner(who=who).address == "12 Rice Lane, Walton, Liverpool, L9 7AL"


def test_address_without_postcode_or_postcode_without_address():
    assert banner(who=patient(address="12 Rice Lane", postcode="")).address == "12 Rice Lane"
    assert banner(who=patient(address="", postcode="L9 7AL")).address == "L9 7AL"
    assert banner(who=patient(address="", postcode="")).address == ""


# --- Deceased --------------------------------------------------------------------------------------


def death(**fields: Any) -> DeathRecord:
    values: dict[str, Any] = {
        "died_at": datetime(2026, 12, 2, 10, 0, tzinfo=UTC),
        "place": PlaceOfDeath.OWN_HOME,
        "preferred_place_first": PlaceOfDeath.OWN_HOME,
        "preferred_place_achieved": True,
    }
    values.update(fields)
    return DeathRecord(**values)


def test_deceased_patient_gets_a_red_alert_with_the_date():
    result = banner(who=patient(died_at=datetime(2026, 1, 20, 14, 5, tzinfo=UTC)))
    assert alert(result, "DECEASED") == Alert("red", "Died 20 January 2026", "DECEASED")
    assert codes(result)[0] == "DECEASED"
    assert result.died == "Died 20 January 2026"
    # The death is the banner's own line, not one of its tags.
    assert "DECEASED" not in [a.code for a in result.tags]


def test_date_of_death_is_the_day_in_england():
    # 23:30 UTC on 14 June is 00:30 BST on 15 June.
    result = banner(who=patient(died_at=datetime(2026, 6, 14, 23, 30, tzinfo=UTC)))
    assert alert(result, "DECEASED").text == "Died 15 June 2026"


def test_living_patient_has_no_deceased_alert():
    result = banner(care_plan=plan())
    assert "DECEASED" not in codes(result) and result.died == ""


@pytest.mark.parametrize(
    ("record", "line"),
    [
        pytest.param(
            death(),
            "Died 2 December 2026, at patient's own home (preferred: patient's own home, achieved)",
            id="achieved",
        ),
        pytest.param(
            death(
                place=PlaceOfDeath.HOSPITAL,
                preferred_place_second=PlaceOfDeath.HOSPICE,
                preferred_place_achieved=False,
            ),
            "Died 2 December 2026, at hospital (preferred: patient's own home or hospice, not achieved)",
            id="not-achieved",
        ),
        pytest.param(
            death(
                place=PlaceOfDeath.CARE_HOME,
                preferred_place_first="",
                preferred_place_achieved=None,
            ),
            "Died 2 December 2026, at care home (no preference recorded)",
            id="no-preference",
        ),
        pytest.param(
            death(
                place=PlaceOfDeath.OTHER,
                preferred_place_first=PlaceOfDeath.PRIVATE_RESIDENCE,
                preferred_place_achieved=False,
            ),
            "Died 2 December 2026, at another place (preferred: private residence, not achieved)",
            id="other-place",
        ),
    ],
)
def test_deceased_banner_says_where_and_whether_the_preferred_place_was_achieved(record, line):
    who = patient(died_at=record.died_at)
    result = patient_banner(
        patient=who,
        care_plan=None,
        calls_last_7_days=0,
        open_referrals=0,
        today=TODAY,
        death=record,
    )
    assert result.died == line
    assert alert(result, "DECEASED").text == line


def test_after_death_live_care_plan_alerts_are_gone_but_open_referrals_stay():
    living = patient(interpreter_needed=True, language="Polish")
    care_plan = plan(
        cpr_decision=CprDecision.NOT_FOR_CPR,
        cpr_review_date=date(2026, 3, 1),
        respect_exists=True,
        key_worker_name="Nia Evans",
        review_date=date(2026, 3, 2),
    )
    alive = banner(who=living, care_plan=care_plan, calls=4, open_referrals=2)
    assert {
        "CPR",
        "CPR_REVIEW_OVERDUE",
        "RESPECT",
        "KEY_WORKER",
        "PPD",
        "CARE_PLAN_REVIEW_OVERDUE",
        "REPEAT_CALLER",
        "INTERPRETER",
    } <= set(codes(alive))

    dead = patient(
        died_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC), interpreter_needed=True, language="Polish"
    )
    result = patient_banner(
        patient=dead,
        care_plan=care_plan,
        calls_last_7_days=4,
        open_referrals=2,
        today=TODAY,
        death=death(died_at=dead.died_at),
    )
    assert codes(result) == ["DECEASED", "OPEN_REFERRALS"]
    assert [a.code for a in result.tags] == ["OPEN_REFERRALS"]
    # Without any care plan, no "No CPR decision" or "No preferred place" nagging either.
    assert codes(banner(who=dead)) == ["DECEASED"]


# --- CPR -------------------------------------------------------------------------------------------


def test_dnacpr_is_a_red_alert_with_its_date():
    result = banner(
        care_plan=plan(cpr_decision=CprDecision.NOT_FOR_CPR, cpr_decision_date=date(2026, 3, 1))
    )
    assert alert(result, "CPR") == Alert(
        "red", "Not for attempted CPR (DNACPR) (1 March 2026)", "CPR"
    )


def test_dnacpr_without_a_date_is_still_red():
    result = banner(care_plan=plan(cpr_decision=CprDecision.NOT_FOR_CPR, cpr_decision_date=None))
    assert alert(result, "CPR") == Alert("red", "Not for attempted CPR (DNACPR)", "CPR")


def test_for_cpr_is_information_not_a_warning():
    result = banner(
        care_plan=plan(cpr_decision=CprDecision.FOR_CPR, cpr_decision_date=date(2026, 2, 2))
    )
    assert alert(result, "CPR") == Alert("blue", "For attempted CPR (2 February 2026)", "CPR")
    assert "CPR_UNKNOWN" not in codes(result)


def test_cpr_decision_past_its_review_date_is_flagged():
    result = banner(
        care_plan=plan(cpr_decision=CprDecision.NOT_FOR_CPR, cpr_review_date=date(2026, 3, 15))
    )
    assert alert(result, "CPR_REVIEW_OVERDUE") == Alert(
        "orange", "CPR decision review overdue since 15 March 2026", "CPR_REVIEW_OVERDUE"
    )
    assert alert(result, "CPR").level == "red"


@pytest.mark.parametrize("review", [TODAY, date(2026, 6, 1), None])
def test_cpr_review_due_today_or_later_is_not_overdue(review):
    result = banner(care_plan=plan(cpr_decision=CprDecision.NOT_FOR_CPR, cpr_review_date=review))
    assert "CPR_REVIEW_OVERDUE" not in codes(result)


def test_no_care_plan_means_no_cpr_decision_recorded():
    assert alert(banner(care_plan=None), "CPR_UNKNOWN") == Alert(
        "orange", "No CPR decision recorded", "CPR_UNKNOWN"
    )


def test_unknown_cpr_decision_is_flagged_as_not_recorded():
    result = banner(
        care_plan=plan(
            cpr_decision=CprDecision.UNKNOWN,
            cpr_decision_date=None,
            cpr_review_date=date(2026, 1, 1),
        )
    )
    assert "CPR_UNKNOWN" in codes(result)
    assert "CPR" not in codes(result)
    assert "CPR_REVIEW_OVERDUE" not in codes(result)


# --- ReSPECT ---------------------------------------------------------------------------------------


def test_respect_plan_shows_its_date_and_where_it_is_kept():
    result = banner(
        care_plan=plan(
            respect_exists=True, respect_date=date(2026, 2, 10), respect_kept_at="Kitchen drawer"
        )
    )
    assert alert(result, "RESPECT") == Alert(
        "blue", "ReSPECT plan (10 February 2026), kept at Kitchen drawer", "RESPECT"
    )


def test_respect_plan_without_date_or_place():
    assert alert(banner(care_plan=plan(respect_exists=True)), "RESPECT").text == "ReSPECT plan"


def test_no_respect_alert_without_a_respect_plan():
    assert "RESPECT" not in codes(
        banner(care_plan=plan(respect_exists=False, respect_kept_at="Drawer"))
    )
    assert "RESPECT" not in codes(banner(care_plan=None))


# --- Preferred place of death -----------------------------------------------------------------------


def test_no_care_plan_means_no_preferred_place_of_death():
    assert alert(banner(care_plan=None), "NO_PPD") == Alert(
        "orange", "No preferred place of death recorded", "NO_PPD"
    )


def test_care_plan_without_a_preferred_place_raises_the_alert():
    assert "NO_PPD" in codes(banner(care_plan=plan(ppd_first="")))


@pytest.mark.parametrize(
    "place", [PlaceOfDeath.OWN_HOME, PlaceOfDeath.HOSPICE, PlaceOfDeath.HOSPITAL]
)
def test_recorded_preferred_place_clears_the_alert(place):
    assert "NO_PPD" not in codes(banner(care_plan=plan(ppd_first=place)))


@pytest.mark.parametrize("reason", list(PreferenceNotStated))
def test_a_reason_for_no_preference_clears_the_alert(reason):
    assert "NO_PPD" not in codes(banner(care_plan=plan(ppd_first="", ppd_not_stated=reason)))


# --- Care plan review, repeat calls, referrals, interpreter -----------------------------------------


def test_care_plan_past_its_review_date_is_flagged():
    result = banner(care_plan=plan(review_date=date(2026, 3, 1)))
    assert alert(result, "CARE_PLAN_REVIEW_OVERDUE") == Alert(
        "orange", "Care plan review overdue since 1 March 2026", "CARE_PLAN_REVIEW_OVERDUE"
    )


@pytest.mark.parametrize("review", [TODAY, date(2026, 4, 1), None])
def test_care_plan_review_due_today_or_later_is_not_overdue(review):
    assert "CARE_PLAN_REVIEW_OVERDUE" not in codes(banner(care_plan=plan(review_date=review)))


def test_three_calls_in_seven_days_flags_a_repeat_caller():
    assert REPEAT_CALLER_CALLS == 3
    assert alert(banner(calls=3), "REPEAT_CALLER") == Alert(
        "orange", "Repeat caller: 3 calls in 7 days", "REPEAT_CALLER"
    )
    assert alert(banner(calls=7), "REPEAT_CALLER").text == "Repeat caller: 7 calls in 7 days"


@pytest.mark.parametrize("calls", [0, 1, 2])
def test_fewer_than_three_calls_is_no_repeat_caller(calls):
    assert "REPEAT_CALLER" not in codes(banner(calls=calls))


@pytest.mark.parametrize(
    ("count", "text"), [(1, "1 open referral"), (2, "2 open referrals"), (12, "12 open referrals")]
)
def test_open_referrals_are_counted(count, text):
    assert alert(banner(open_referrals=count), "OPEN_REFERRALS") == Alert(
        "blue", text, "OPEN_REFERRALS"
    )


def test_no_open_referrals_no_alert():
    assert "OPEN_REFERRALS" not in codes(banner(open_referrals=0))


def test_interpreter_needed_names_the_language():
    result = banner(who=patient(interpreter_needed=True, language="Vietnamese"))
    assert alert(result, "INTERPRETER") == Alert(
        "blue", "Interpreter needed (Vietnamese)", "INTERPRETER"
    )


def test_interpreter_needed_without_a_language():
    assert (
        alert(banner(who=patient(interpreter_needed=True)), "INTERPRETER").text
        == "Interpreter needed"
    )


def test_language_alone_is_no_interpreter_alert():
    assert "INTERPRETER" not in codes(
        banner(who=patient(interpreter_needed=False, language="Welsh"))
    )


# --- The whole list --------------------------------------------------------------------------------


def test_complete_care_plan_raises_no_warning():
    # Information only: the CPR decision and the preferred place of death.
    assert codes(banner(care_plan=plan())) == ["CPR", "PPD"]
    assert all(a.level != "orange" for a in banner(care_plan=plan()).alerts)


def test_banner_shows_preferred_place_key_worker_and_respect_recommendation():
    care_plan = plan(
        ppd_first="21",
        ppd_second="30",
        key_worker_name="Nia Evans",
        respect_exists=True,
        respect_cpr=CprDecision.NOT_FOR_CPR,
    )
    texts = [a.text for a in banner(care_plan=care_plan).alerts]
    assert "Preferred place of death: Patient's own home; 2nd Hospice" in texts
    assert "Key worker: Nia Evans" in texts
    assert any(t.startswith("ReSPECT plan") and "Not for attempted CPR" in t for t in texts)


def test_every_alert_at_once_in_banner_order():
    # A living patient: a deceased one keeps only the death and open referrals (above).
    who = patient(interpreter_needed=True, language="Polish")
    care_plan = plan(
        cpr_decision=CprDecision.NOT_FOR_CPR,
        cpr_review_date=date(2026, 3, 1),
        respect_exists=True,
        ppd_first="",
        review_date=date(2026, 3, 2),
    )
    result = banner(who=who, care_plan=care_plan, calls=4, open_referrals=1)
    assert codes(result) == [
        "CPR",
        "CPR_REVIEW_OVERDUE",
        "RESPECT",
        "NO_PPD",
        "CARE_PLAN_REVIEW_OVERDUE",
        "REPEAT_CALLER",
        "OPEN_REFERRALS",
        "INTERPRETER",
    ]
    assert [a.level for a in result.alerts] == [
        "red",
        "orange",
        "blue",
        "orange",
        "orange",
        "orange",
        "blue",
        "blue",
    ]


# --- Just-in-case medicines (hazard H-033) ---------------------------------------------------------


def medicine(name: str, kept_at: str = "Kitchen drawer") -> JustInCaseMedicine:
    return JustInCaseMedicine(
        name=name,
        dose_route="2.5 mg to 5 mg subcutaneously, hourly if needed",
        quantity="10 ampoules",
        kept_at=kept_at,
        prescribed_by="Dr Siân O'Brien",
        prescribed_date=date(2026, 3, 10),
    )


def test_medicines_at_home_say_how_many_and_where_and_list_each_as_prescribed():
    result = banner(
        care_plan=plan(anticipatory_meds_issued=True),
        medicines=(
            medicine("Midazolam 10 mg/2 ml injection"),
            medicine("Morphine sulfate 10 mg/1 ml injection"),
            medicine("Water for injection", kept_at="Blue box on the wardrobe"),
        ),
    )
    assert alert(result, "JIC_MEDICINES") == Alert(
        "blue",
        "Just-in-case medicines at home (3), kept at Kitchen drawer; Blue box on the wardrobe",
        "JIC_MEDICINES",
    )
    assert result.medicines[1] == (
        "Morphine sulfate 10 mg/1 ml injection: 2.5 mg to 5 mg subcutaneously, hourly if needed "
        "(10 ampoules)"
    )
    assert "JIC_MEDICINES_NOT_LISTED" not in codes(result)


def test_medicines_issued_in_the_care_plan_but_not_listed_are_a_warning():
    result = banner(care_plan=plan(anticipatory_meds_issued=True))
    assert alert(result, "JIC_MEDICINES_NOT_LISTED").level == "orange"
    assert "JIC_MEDICINES" not in codes(banner(care_plan=plan()))
    assert "JIC_MEDICINES_NOT_LISTED" not in codes(banner(care_plan=plan()))


def test_medicines_are_left_off_once_the_patient_has_died():
    died = patient(died_at=datetime(2026, 3, 15, 9, tzinfo=UTC))
    result = banner(who=died, medicines=(medicine("Midazolam 10 mg/2 ml injection"),))
    assert "JIC_MEDICINES" not in codes(result)
    assert result.medicines == ()
