"""Triage decision support rules (docs/design.md §4, docs/triage.md): every rule, alone and together."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calls.triage import (
    OWN_DEFAULT_NEEDS,
    SUPPORT_NEEDS,
    TRIAGE_RULES_VERSION,
    InvalidTriage,
    Suggestion,
    TriageInput,
    highest_priority,
    is_override,
    priority_rank,
    suggest_need_priority,
    suggest_priority,
)
from patients.codes import IposItem, PatientLocation, PhaseOfIllness
from referrals.codes import CallReason, CarerCoping, RedFlag
from services.codes import Need, Priority

NOTHING = "No urgent features recorded → P5"
NOTHING_AMONG = "No urgent features among the answers recorded → P5"


def answered(**fields: Any) -> TriageInput:
    """Red flags asked (none present) and a Phase of Illness assessed (Stable, which suggests
    nothing) unless given: the rules alone, without the reasons of what was not recorded."""
    return TriageInput(**{"red_flags": (), "phase": PhaseOfIllness.STABLE, **fields})


# --- every rule alone ----------------------------------------------------------------------------


@pytest.mark.parametrize("flag", RedFlag.values)
def test_each_red_flag_alone_suggests_p1(flag: str) -> None:
    assert suggest_priority(answered(red_flags=[flag])) == Suggestion(
        "P1", (f"Red flag: {RedFlag(flag).label} → P1",)
    )


PHASES = [
    (PhaseOfIllness.STABLE, Suggestion("P5", (NOTHING,))),
    (PhaseOfIllness.UNSTABLE, Suggestion("P2", ("Phase of illness Unstable → P2",))),
    (PhaseOfIllness.DETERIORATING, Suggestion("P4", ("Phase of illness Deteriorating → P4",))),
    (PhaseOfIllness.DYING, Suggestion("P3", ("Phase of illness Dying → P3",))),
    (PhaseOfIllness.DECEASED, Suggestion("P5", (NOTHING,))),
]
CARER_COPING = [
    (CarerCoping.COPING, Suggestion("P5", (NOTHING,))),
    (CarerCoping.STRUGGLING, Suggestion("P5", (NOTHING,))),
    (CarerCoping.CRISIS_TONIGHT, Suggestion("P2", ("Carer in crisis tonight → P2",))),
    (CarerCoping.NO_CARER, Suggestion("P5", (NOTHING,))),
]


def test_the_tables_cover_every_code() -> None:
    assert {phase for phase, _ in PHASES} == set(PhaseOfIllness.values)
    assert {coping for coping, _ in CARER_COPING} == set(CarerCoping.values)


@pytest.mark.parametrize(("phase", "expected"), PHASES)
def test_each_phase_alone(phase: str, expected: Suggestion) -> None:
    assert suggest_priority(answered(phase=phase)) == expected


@pytest.mark.parametrize("item", IposItem.values)
@pytest.mark.parametrize(
    ("score", "expected"),
    [(0, None), (1, None), (2, None), (3, ("P3", "severely")), (4, ("P2", "overwhelmingly"))],
)
def test_each_ipos_item_at_each_score(
    item: str, score: int, expected: tuple[str, str] | None
) -> None:
    suggestion = suggest_priority(answered(ipos={item: score}))
    if expected is None:
        assert suggestion == Suggestion("P5", (NOTHING,))
    else:
        priority, words = expected
        label = IposItem(item).label
        assert suggestion == Suggestion(
            priority, (f"{label} scored {score} ({words}) → {priority}",)
        )


def test_pain_scored_4_reads_as_in_the_design() -> None:
    assert suggest_priority(answered(ipos={"PAIN": 4})).reasons == (
        "Pain scored 4 (overwhelmingly) → P2",
    )


@pytest.mark.parametrize(("coping", "expected"), CARER_COPING)
def test_each_carer_coping_value_alone(coping: str, expected: Suggestion) -> None:
    assert suggest_priority(answered(carer_coping=coping)) == expected


@pytest.mark.parametrize("reason", CallReason.values)
def test_only_death_notification_among_call_reasons_raises_priority(reason: str) -> None:
    suggestion = suggest_priority(answered(reason=reason))
    if reason == CallReason.DEATH_NOTIFICATION:
        assert suggestion == Suggestion("P3", ("Death notification: verification needed → P3",))
    else:
        assert suggestion == Suggestion("P5", (NOTHING,))


@pytest.mark.parametrize("location", PatientLocation.values)
def test_patient_location_alone_changes_nothing(location: str) -> None:
    assert suggest_priority(answered(patient_location=location)) == Suggestion("P5", (NOTHING,))


def test_nothing_recorded_suggests_p5() -> None:
    assert suggest_priority(answered()) == Suggestion("P5", (NOTHING,))


# --- not asked is not absent (docs/triage.md) ----------------------------------------------------


def test_red_flags_not_asked_are_said_and_not_read_as_none_present() -> None:
    assert suggest_priority(TriageInput(phase="STABLE")) == Suggestion(
        "P5", ("No urgent features among the answers recorded → P5", "Red flags not asked")
    )
    assert suggest_priority(TriageInput(phase="STABLE", red_flags=())) == Suggestion(
        "P5", (NOTHING,)
    )


def test_nothing_asked_says_what_was_not_recorded() -> None:
    assert suggest_priority(TriageInput()).reasons == (
        "No urgent features among the answers recorded → P5",
        "Red flags not asked",
        "Phase of Illness not assessed",
    )


def test_a_phase_not_assessed_is_said_after_the_rules_that_fired_and_changes_no_priority() -> None:
    assert suggest_priority(TriageInput(red_flags=(), ipos={"PAIN": 4})) == Suggestion(
        "P2", ("Pain scored 4 (overwhelmingly) → P2", "Phase of Illness not assessed")
    )


def test_red_flags_asked_none_present_and_not_asked_suggest_the_same_priority() -> None:
    for fields in ({"ipos": {"NAUSEA": 3}}, {"phase": "DYING"}, {}):
        asked = suggest_priority(TriageInput(red_flags=(), **fields))  # type: ignore[arg-type]
        not_asked = suggest_priority(TriageInput(**fields))  # type: ignore[arg-type]
        assert asked.priority == not_asked.priority
        assert "Red flags not asked" in not_asked.reasons
        assert "Red flags not asked" not in asked.reasons


# --- the highest rule wins; every reason is listed -----------------------------------------------


@pytest.mark.parametrize(
    ("triage", "priority"),
    [
        (answered(phase="DETERIORATING", ipos={"PAIN": 3}), "P3"),
        (answered(phase="DYING", ipos={"PAIN": 4}), "P2"),
        (answered(phase="DYING", carer_coping="CRISIS_TONIGHT"), "P2"),
        (answered(phase="STABLE", reason="DEATH_NOTIFICATION"), "P3"),
        (answered(phase="UNSTABLE", red_flags=["SEIZURE"]), "P1"),
        (answered(phase="DETERIORATING", ipos={"NAUSEA": 2}), "P4"),
        (answered(phase="DETERIORATING", reason="DEATH_NOTIFICATION"), "P3"),
        (answered(ipos={"PAIN": 3, "NAUSEA": 4}), "P2"),
    ],
)
def test_highest_rule_wins(triage: TriageInput, priority: str) -> None:
    assert suggest_priority(triage).priority == priority


def test_every_fired_rule_is_listed_highest_first() -> None:
    triage = answered(
        phase="DETERIORATING",
        ipos={"NAUSEA": 3, "PAIN": 4, "BREATHLESSNESS": 3, "WEAKNESS": 1},
        red_flags=["SEIZURE", "MAJOR_BLEED"],
        carer_coping="CRISIS_TONIGHT",
        reason="DEATH_NOTIFICATION",
    )
    assert suggest_priority(triage) == Suggestion(
        "P1",
        (
            "Red flag: Major bleed → P1",
            "Red flag: Seizure → P1",
            "Pain scored 4 (overwhelmingly) → P2",
            "Carer in crisis tonight → P2",
            "Shortness of breath scored 3 (severely) → P3",
            "Nausea scored 3 (severely) → P3",
            "Death notification: verification needed → P3",
            "Phase of illness Deteriorating → P4",
        ),
    )


def test_unstable_phase_is_listed_before_symptoms_and_carer_at_p2() -> None:
    triage = answered(phase="UNSTABLE", ipos={"FAMILY_ANXIETY": 4}, carer_coping="CRISIS_TONIGHT")
    assert suggest_priority(triage).reasons == (
        "Phase of illness Unstable → P2",
        "Family anxiety scored 4 (overwhelmingly) → P2",
        "Carer in crisis tonight → P2",
    )


def test_repeated_red_flags_are_listed_once() -> None:
    triage = answered(red_flags=("SEIZURE", "SEIZURE"))
    assert suggest_priority(triage).reasons == ("Red flag: Seizure → P1",)


# --- invalid input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"phase": "CRITICAL"}, "Unknown phase of illness code 'CRITICAL'"),
        ({"red_flags": ["STROKE"]}, "Unknown red flag code 'STROKE'"),
        ({"red_flags": "SEIZURE"}, "list of codes"),
        ({"ipos": {"ITCH": 2}}, "Unknown IPOS item code 'ITCH'"),
        ({"carer_coping": "FINE"}, "Unknown carer coping code 'FINE'"),
        ({"reason": "DEATH"}, "Unknown call reason code 'DEATH'"),
        ({"patient_location": "CAR_PARK"}, "Unknown patient location code 'CAR_PARK'"),
        ({"phase": "unstable"}, "Unknown phase of illness code 'unstable'"),
    ],
)
def test_unknown_codes_are_refused(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidTriage, match=message):
        suggest_priority(TriageInput(**fields))  # type: ignore[arg-type]


@pytest.mark.parametrize("score", [5, -1, 40])
def test_scores_outside_0_to_4_are_refused_naming_the_item(score: int) -> None:
    with pytest.raises(InvalidTriage, match=rf"^Pain score must be from 0 to 4; got {score}\.$"):
        TriageInput(ipos={"PAIN": score})


@pytest.mark.parametrize("score", [3.0, "3", True, None])
def test_scores_that_are_not_whole_numbers_are_refused(score: object) -> None:
    with pytest.raises(InvalidTriage, match="Shortness of breath score must be a whole number"):
        TriageInput(ipos={"BREATHLESSNESS": score})  # type: ignore[dict-item]


def test_input_is_immutable_and_hashable() -> None:
    ipos = {"PAIN": 3}
    triage = TriageInput(ipos=ipos, red_flags=["SEIZURE"])
    ipos["PAIN"] = 4
    assert triage.ipos == {"PAIN": 3}
    with pytest.raises(TypeError):
        triage.ipos["PAIN"] = 4  # type: ignore[index]
    assert hash(triage) == hash(TriageInput(ipos={"PAIN": 3}, red_flags=("SEIZURE",)))


# --- properties ----------------------------------------------------------------------------------

scores = st.integers(min_value=0, max_value=4)
triage_inputs = st.builds(
    TriageInput,
    phase=st.none() | st.sampled_from(PhaseOfIllness.values),
    ipos=st.dictionaries(st.sampled_from(IposItem.values), scores),
    red_flags=st.none() | st.lists(st.sampled_from(RedFlag.values), max_size=3),
    carer_coping=st.none() | st.sampled_from(CarerCoping.values),
    reason=st.none() | st.sampled_from(CallReason.values),
    patient_location=st.none() | st.sampled_from(PatientLocation.values),
)


def expected_priorities(triage: TriageInput) -> list[int]:
    """The rules of docs/design.md §4 restated as a list of fired priorities (ranks)."""
    fired = [1 for _ in triage.red_flags or ()]
    fired += {"UNSTABLE": [2], "DYING": [3], "DETERIORATING": [4]}.get(triage.phase or "", [])
    fired += [2 for score in triage.ipos.values() if score == 4]
    fired += [3 for score in triage.ipos.values() if score == 3]
    fired += [2] if triage.carer_coping == "CRISIS_TONIGHT" else []
    fired += [3] if triage.reason == "DEATH_NOTIFICATION" else []
    return fired


@given(triage_inputs)
def test_suggestion_is_the_minimum_over_the_fired_rules(triage: TriageInput) -> None:
    suggestion = suggest_priority(triage)
    fired = expected_priorities(triage)
    assert priority_rank(suggestion.priority) == min(fired, default=5)
    rules = [reason for reason in suggestion.reasons if "→" in reason]
    not_recorded = [reason for reason in suggestion.reasons if "→" not in reason]
    assert not_recorded == [
        text
        for text, missing in (
            ("Red flags not asked", triage.red_flags is None),
            ("Phase of Illness not assessed", triage.phase is None),
        )
        if missing
    ]
    if fired:
        reason_ranks = [priority_rank(reason.rsplit("→ ", 1)[1]) for reason in rules]
        assert reason_ranks == sorted(fired)
    else:
        assert rules == [NOTHING if triage.red_flags is not None else NOTHING_AMONG]


@given(triage_inputs, st.sampled_from(RedFlag.values))
def test_adding_any_red_flag_always_yields_p1(triage: TriageInput, flag: str) -> None:
    flagged = TriageInput(
        phase=triage.phase,
        ipos=triage.ipos,
        red_flags=[*(triage.red_flags or ()), flag],
        carer_coping=triage.carer_coping,
        reason=triage.reason,
        patient_location=triage.patient_location,
    )
    suggestion = suggest_priority(flagged)
    assert suggestion.priority == "P1"
    assert f"Red flag: {RedFlag(flag).label} → P1" in suggestion.reasons
    assert set(suggest_priority(triage).reasons) - {
        NOTHING,
        NOTHING_AMONG,
        "Red flags not asked",
    } <= set(suggestion.reasons)


# --- ranks and overrides -------------------------------------------------------------------------


def test_priority_rank_follows_the_code_list() -> None:
    assert [priority_rank(p) for p in Priority.values] == [1, 2, 3, 4, 5]
    with pytest.raises(InvalidTriage, match="Unknown priority code 'P6'"):
        priority_rank("P6")


@pytest.mark.parametrize(
    ("suggested", "chosen", "override"),
    [("P1", "P1", False), ("P2", "P1", True), ("P1", "P3", True), ("P5", "P5", False)],
)
def test_is_override(suggested: str, chosen: str, override: bool) -> None:
    assert is_override(suggested, chosen) is override


def test_is_override_refuses_unknown_codes() -> None:
    with pytest.raises(InvalidTriage):
        is_override("P1", "URGENT")


def test_rules_version_is_set() -> None:
    assert TRIAGE_RULES_VERSION == "2026-12d"


# --- each need's own priority --------------------------------------------------------------------

URGENT = TriageInput(red_flags=["MAJOR_BLEED"], phase="UNSTABLE", ipos={"PAIN": 4})
CLINICAL_NEEDS = [need for need in Need.values if need not in OWN_DEFAULT_NEEDS]


def test_support_needs_are_carer_and_bereavement_support() -> None:
    assert {"CARER_SUPPORT", "BEREAVEMENT_SUPPORT"} == SUPPORT_NEEDS


@pytest.mark.parametrize("need", CLINICAL_NEEDS)
def test_clinical_needs_take_the_call_suggestion(need: str) -> None:
    assert suggest_need_priority(URGENT, need) == suggest_priority(URGENT)
    assert suggest_need_priority(TriageInput(), need) == suggest_priority(TriageInput())


def test_carer_support_with_an_urgent_symptom_stays_p4() -> None:
    assert suggest_need_priority(URGENT, "CARER_SUPPORT") == Suggestion(
        "P4", ("Carer support: default → P4",)
    )


@pytest.mark.parametrize("coping", ["COPING", "STRUGGLING", "NO_CARER", None])
def test_carer_support_is_p4_unless_the_carer_is_in_crisis(coping: str | None) -> None:
    assert suggest_need_priority(TriageInput(carer_coping=coping), "CARER_SUPPORT").priority == "P4"


def test_carer_in_crisis_tonight_raises_carer_support_to_p3_and_the_call_to_p2() -> None:
    triage = TriageInput(carer_coping="CRISIS_TONIGHT")
    assert suggest_need_priority(triage, "CARER_SUPPORT") == Suggestion(
        "P3", ("Carer support: carer in crisis tonight → P3",)
    )
    assert suggest_need_priority(triage, "OVERNIGHT_SUPPORT").priority == "P2"


def test_a_call_about_a_carer_crisis_raises_carer_support_to_p3() -> None:
    triage = TriageInput(reason="CARER_CRISIS", carer_coping="CRISIS_TONIGHT")
    assert suggest_need_priority(triage, "CARER_SUPPORT") == Suggestion(
        "P3",
        (
            "Carer support: carer in crisis tonight → P3",
            "Carer support: call about a carer crisis → P3",
        ),
    )


def test_bereavement_support_is_p5_with_an_urgent_symptom() -> None:
    assert suggest_need_priority(URGENT, "BEREAVEMENT_SUPPORT") == Suggestion(
        "P5", ("Bereavement support: default → P5",)
    )


def test_bereavement_support_after_a_death_notification_is_p4() -> None:
    triage = TriageInput(reason="DEATH_NOTIFICATION")
    assert suggest_need_priority(triage, "BEREAVEMENT_SUPPORT") == Suggestion(
        "P4", ("Bereavement support: death notified on this call → P4",)
    )
    assert suggest_priority(triage).priority == "P3"


def test_unknown_need_is_refused() -> None:
    with pytest.raises(InvalidTriage, match="Unknown need code 'DOG_WALKING'"):
        suggest_need_priority(TriageInput(), "DOG_WALKING")


@given(triage_inputs, st.sampled_from(sorted(SUPPORT_NEEDS)))
def test_support_needs_are_never_above_p3(triage: TriageInput, need: str) -> None:
    suggestion = suggest_need_priority(triage, need)
    assert priority_rank(suggestion.priority) >= 3
    assert all(reason.endswith(f"→ {suggestion.priority}") for reason in suggestion.reasons)


# --- the care network's needs (docs/triage.md "Each need's priority") -----------------------------

DYING = TriageInput(phase="DYING")


def test_district_nursing_is_clinical_and_takes_the_call_suggestion() -> None:
    assert "DISTRICT_NURSING" in CLINICAL_NEEDS
    assert suggest_need_priority(URGENT, "DISTRICT_NURSING").priority == "P1"


def test_verification_of_expected_death_is_p3_whatever_was_recorded() -> None:
    expected = Suggestion(
        "P3", ("Verification of expected death: the same day, within 4 hours → P3",)
    )
    assert suggest_need_priority(TriageInput(), "VERIFICATION_OF_DEATH") == expected
    assert suggest_need_priority(URGENT, "VERIFICATION_OF_DEATH") == expected


def test_rapid_discharge_is_p2_whatever_was_recorded() -> None:
    expected = Suggestion(
        "P2", ("Rapid discharge home to die: a dying patient waiting in hospital → P2",)
    )
    assert suggest_need_priority(TriageInput(), "RAPID_DISCHARGE") == expected
    assert suggest_need_priority(URGENT, "RAPID_DISCHARGE") == expected


def test_gp_out_of_hours_is_at_least_p3_and_keeps_the_call_reasons() -> None:
    deteriorating = TriageInput(phase="DETERIORATING", red_flags=())
    assert suggest_need_priority(deteriorating, "GP_OUT_OF_HOURS") == (
        Suggestion(
            "P3",
            (
                "GP out of hours: seen the same day → P3",
                "Phase of illness Deteriorating → P4",
            ),
        )
    )
    assert suggest_need_priority(URGENT, "GP_OUT_OF_HOURS") == suggest_priority(URGENT)


def test_just_in_case_medicines_are_p4_and_same_day_for_the_dying_or_a_severe_symptom() -> None:
    assert suggest_need_priority(TriageInput(), "JUST_IN_CASE_MEDICINES") == Suggestion(
        "P4", ("Just-in-case medicines: default → P4",)
    )
    assert suggest_need_priority(
        TriageInput(phase="UNSTABLE", ipos={"PAIN": 3, "NAUSEA": 1}), "JUST_IN_CASE_MEDICINES"
    ) == Suggestion(
        "P3",
        (
            "Just-in-case medicines: phase of illness Unstable → P3",
            "Just-in-case medicines: Pain scored 3 → P3",
        ),
    )


@pytest.mark.parametrize(
    ("need", "raised_by_dying", "raised_by_unstable", "raised_by_carer_crisis"),
    [
        ("EQUIPMENT", True, True, False),
        ("CHC_FAST_TRACK", True, False, False),
        ("SOCIAL_CARE_PACKAGE", False, False, True),
    ],
)
def test_care_needs_are_p4_and_same_day_only_for_their_own_reasons(
    need: str, raised_by_dying: bool, raised_by_unstable: bool, raised_by_carer_crisis: bool
) -> None:
    def suggested(triage: TriageInput) -> str:
        return suggest_need_priority(triage, need).priority

    assert suggested(TriageInput()) == "P4"
    assert suggested(TriageInput(red_flags=["SEIZURE"])) == "P4"
    assert suggested(DYING) == ("P3" if raised_by_dying else "P4")
    assert suggested(TriageInput(phase="UNSTABLE")) == ("P3" if raised_by_unstable else "P4")
    crisis = TriageInput(carer_coping="CRISIS_TONIGHT")
    assert suggested(crisis) == ("P3" if raised_by_carer_crisis else "P4")


@given(triage_inputs, st.sampled_from(sorted(OWN_DEFAULT_NEEDS - {"GP_OUT_OF_HOURS"})))
def test_needs_with_their_own_default_are_never_p1(triage: TriageInput, need: str) -> None:
    suggestion = suggest_need_priority(triage, need)
    assert priority_rank(suggestion.priority) >= 2
    assert suggestion.reasons[0].startswith(Need(need).label)


def test_highest_priority() -> None:
    assert highest_priority(["P4", "P1", "P3"]) == "P1"
    assert highest_priority(("P5",)) == "P5"
    with pytest.raises(InvalidTriage):
        highest_priority([])
    with pytest.raises(InvalidTriage):
        highest_priority(["P2", "P9"])
