"""The routing ranker (docs/design.md §5) on a small fictional directory, plus properties."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services import codes
from services.codes import CallerType, CapacityRag, Need, Priority, ServiceStatus, ServiceType
from services.hours import ClosurePeriod, Schedule, next_opening
from services.postcodes import covers_postcode
from services.ranking import (
    CAPACITY_STALE_AFTER,
    Capacity,
    RankedService,
    ServiceCandidate,
    rank_services,
    winner,
)
from tests.services.schedules import drawn, local, weekly

WEDNESDAY = (2026, 6, 10)
HOME = "L9 7AL"
OUT_OF_AREA = "M1 1AE"


AT_14 = local(*WEDNESDAY, 14)
AT_23_30 = local(*WEDNESDAY, 23, 30)


def green(units: int | None = 3, at: datetime = AT_14) -> Capacity:
    return Capacity(CapacityRag.GREEN, units, at - timedelta(hours=1))


COMMUNITY = ServiceCandidate(
    id=1,
    name="Northway Community Palliative Care Team",
    service_type=ServiceType.COMMUNITY_SPC,
    status=ServiceStatus.ACTIVE,
    schedule=weekly(8, 20),
    coverage_areas=("L9", "L10"),
    capacity=green(),
)
HOSPICE_AT_HOME = ServiceCandidate(
    id=2,
    name="Riverside Hospice at Home",
    service_type=ServiceType.HOSPICE_AT_HOME,
    status=ServiceStatus.ACTIVE,
    schedule=weekly(8, 22),
    coverage_areas=("L9 7", "L10"),
    capacity=green(),
)
NIGHT = ServiceCandidate(
    id=3,
    name="Mersey Night Service",
    service_type=ServiceType.NIGHT_SERVICE,
    status=ServiceStatus.ACTIVE,
    schedule=weekly(20, 8),
    coverage_areas=("L9", "L10", "L4"),
)
IN_PATIENT_UNIT = ServiceCandidate(
    id=4,
    name="Riverside Hospice In-patient Unit",
    service_type=ServiceType.HOSPICE_INPATIENT,
    status=ServiceStatus.ACTIVE,
    schedule=Schedule(always_open=True),
    coverage_areas=("L9", "L10", "L4"),
    capacity=Capacity(CapacityRag.AMBER, 2, AT_14 - timedelta(hours=3)),
)
IN_REACH = ServiceCandidate(
    id=5,
    name="Northway Hospital In-reach Team",
    service_type=ServiceType.HOSPITAL_IN_REACH,
    status=ServiceStatus.ACTIVE,
    schedule=weekly(8, 18, range(5)),
    site_ids=(1,),
)
BEREAVEMENT = ServiceCandidate(
    id=6,
    name="Northway Bereavement Support",
    service_type=ServiceType.BEREAVEMENT,
    status=ServiceStatus.ACTIVE,
    schedule=weekly(9, 17, range(5)),
    coverage_areas=("L9",),
    min_age=18,
)
DIRECTORY = (COMMUNITY, HOSPICE_AT_HOME, NIGHT, IN_PATIENT_UNIT, IN_REACH, BEREAVEMENT)


def rank(candidates: Sequence[ServiceCandidate] = DIRECTORY, **kwargs: Any) -> list[RankedService]:
    request: dict[str, Any] = {
        "need": Need.URGENT_HOME_VISIT,
        "priority": Priority.P2,
        "at": AT_14,
        "postcode": HOME,
    }
    request.update(kwargs)
    return rank_services(candidates=candidates, **request)


def by_id(ranked: list[RankedService], service_id: int) -> RankedService:
    return next(item for item in ranked if item.candidate.id == service_id)


def teams_of_all(ranked: list[RankedService]) -> set[int]:
    """Every candidate has an intake team (the usual case in the directory)."""
    return {item.candidate.id for item in ranked}


def top(ranked: list[RankedService], *, with_intake_team: set[int] | None = None) -> int | None:
    """The id of the winner, by the rule routing uses (every service with a team by default)."""
    teams = teams_of_all(ranked) if with_intake_team is None else with_intake_team
    best = winner(ranked, with_intake_team=teams)
    return None if best is None else best.candidate.id


# --- the directory table ------------------------------------------------------------------------


def test_urgent_visit_at_14_00_goes_to_the_community_team() -> None:
    ranked = rank()
    assert top(ranked) == COMMUNITY.id
    assert [item.candidate.id for item in ranked if item.eligible] == [1, 2, 3]
    assert [item.rank for item in ranked] == [1, 2, 3, None, None, None]
    best = ranked[0]
    assert best.can_meet_deadline
    assert best.earliest_response_at == AT_14
    assert best.contact_by == local(*WEDNESDAY, 16)
    assert best.accept_by == local(*WEDNESDAY, 14, 15)
    assert best.reasons == (
        "Open now",
        "Can meet the P2 deadline (contact by 16:00)",
        "Preferred service type 1 of 3 for Urgent home visit",
        "Capacity GREEN (3 units free)",
    )


def test_night_service_at_14_00_cannot_meet_p2_and_ranks_last() -> None:
    night = by_id(rank(), NIGHT.id)
    assert night.rank == 3
    assert not night.can_meet_deadline
    assert night.earliest_response_at == local(*WEDNESDAY, 20)
    assert "Closed; opens Wed 20:00" in night.reasons
    assert "Cannot meet the P2 deadline: next opening 20:00 is after 16:00" in night.reasons
    assert "Capacity unknown (not reported)" in night.reasons


def test_urgent_visit_at_23_30_goes_to_the_night_service() -> None:
    ranked = rank(at=AT_23_30)
    assert top(ranked) == NIGHT.id
    assert ranked[0].reasons[:2] == ("Open now", "Can meet the P2 deadline (contact by Thu 01:30)")
    for day_team in (COMMUNITY, HOSPICE_AT_HOME):
        item = by_id(ranked, day_team.id)
        assert item.eligible and not item.can_meet_deadline
        assert any(
            r.startswith("Cannot meet the P2 deadline: next opening Thu 08:00")
            for r in item.reasons
        )
    assert [item.candidate.id for item in ranked if item.eligible] == [3, 1, 2]


def test_service_clock_override_can_let_the_day_team_meet_the_deadline() -> None:
    relaxed = codes.Clock("asap", True, timedelta(minutes=15), timedelta(hours=12))
    community = dataclasses.replace(COMMUNITY, clock_overrides={Priority.P2: relaxed})
    ranked = rank([community, HOSPICE_AT_HOME, NIGHT], at=AT_23_30)
    assert top(ranked) == COMMUNITY.id
    assert ranked[0].contact_by == local(2026, 6, 11, 11, 30)


def test_hospital_specialist_review_goes_to_the_in_reach_team_of_that_site() -> None:
    ranked = rank(
        need=Need.HOSPITAL_SPECIALIST_REVIEW, priority=Priority.P3, site_id=1, postcode=None
    )
    assert top(ranked) == IN_REACH.id
    assert sum(item.eligible for item in ranked) == 1


def test_hospital_specialist_review_at_another_site_finds_nobody_and_says_why() -> None:
    ranked = rank(need=Need.HOSPITAL_SPECIALIST_REVIEW, priority=Priority.P3, site_id=2)
    assert top(ranked) is None
    assert by_id(ranked, IN_REACH.id).excluded_reason == "Excluded: does not serve hospital site 2"
    assert by_id(ranked, COMMUNITY.id).excluded_reason == (
        "Excluded: Community specialist palliative care does not provide Hospital specialist review"
    )
    assert all(item.excluded_reason for item in ranked)


def test_hospital_specialist_review_without_a_site_excludes_everyone() -> None:
    ranked = rank(need=Need.HOSPITAL_SPECIALIST_REVIEW, priority=Priority.P3)
    assert top(ranked) is None
    assert "Excluded: no hospital site recorded" in by_id(ranked, IN_REACH.id).reasons


def test_out_of_area_postcode_finds_nobody_and_every_row_says_does_not_cover() -> None:
    ranked = rank(postcode=OUT_OF_AREA)
    assert top(ranked) is None
    assert len(ranked) == len(DIRECTORY)
    for item in ranked:
        assert "Excluded: does not cover M1 1AE" in item.reasons


def test_postcode_is_normalised_before_matching() -> None:
    assert top(rank(postcode=" l97al ")) == COMMUNITY.id


def test_missing_or_malformed_postcode_excludes_everyone_with_the_reason() -> None:
    assert all("Excluded: no postcode recorded" in item.reasons for item in rank(postcode=None))
    malformed = rank(postcode="XYZ")
    assert top(malformed) is None
    assert "Excluded: postcode 'XYZ' is not valid" in malformed[0].reasons


def test_sector_coverage_does_not_reach_the_rest_of_the_outward_code() -> None:
    ranked = rank(postcode="L9 8AA")
    assert by_id(ranked, HOSPICE_AT_HOME.id).excluded_reason == "Excluded: does not cover L9 8AA"
    assert by_id(ranked, COMMUNITY.id).eligible


def test_malformed_stored_area_covers_nothing_instead_of_failing() -> None:
    broken = dataclasses.replace(COMMUNITY, coverage_areas=("XYZ", "L9"))
    assert top(rank([broken])) == COMMUNITY.id
    assert not by_id(rank([dataclasses.replace(COMMUNITY, coverage_areas=("XYZ",))]), 1).eligible


def test_service_type_that_does_not_serve_the_need_is_excluded() -> None:
    ranked = rank(need=Need.HOSPICE_ADMISSION)
    assert by_id(ranked, NIGHT.id).excluded_reason == (
        "Excluded: Night service does not provide Hospice admission"
    )
    assert top(ranked) == IN_PATIENT_UNIT.id


def test_excluded_services_follow_the_eligible_ones_in_name_order() -> None:
    ranked = rank()
    excluded = [item.candidate.name for item in ranked if not item.eligible]
    assert excluded == sorted(excluded)
    assert all(item.rank is None for item in ranked[3:])


# --- capacity and load --------------------------------------------------------------------------


def community(service_id: int, name: str, **changes: Any) -> ServiceCandidate:
    return dataclasses.replace(COMMUNITY, id=service_id, name=name, **changes)


def red(units: int | None) -> Capacity:
    return Capacity(CapacityRag.RED, units, AT_14 - timedelta(hours=1))


def test_red_capacity_is_passed_over_for_green_of_the_same_type() -> None:
    ranked = rank(
        [community(10, "A Team", capacity=red(2)), community(11, "B Team", capacity=green())]
    )
    assert top(ranked) == 11
    assert "Capacity RED (2 units free)" in by_id(ranked, 10).reasons


def test_red_capacity_still_beats_a_less_preferred_service_type() -> None:
    ranked = rank([community(10, "A Team", capacity=red(None)), HOSPICE_AT_HOME])
    assert top(ranked) == 10


def test_red_with_no_units_ranks_after_every_other_eligible_service() -> None:
    full = community(10, "A Team", capacity=red(0))
    assert top(rank([full, HOSPICE_AT_HOME])) == HOSPICE_AT_HOME.id
    # Even after one that cannot meet the deadline; but only a service that can meet it wins.
    ranked = rank([full, NIGHT])
    assert [item.candidate.id for item in ranked] == [NIGHT.id, 10]
    assert not ranked[0].can_meet_deadline and ranked[1].can_meet_deadline
    assert top(ranked) == 10
    alone = rank([full, BEREAVEMENT])
    assert top(alone) == 10
    assert "Capacity RED, no units free: used only if nothing else" in alone[0].reasons


def test_stale_capacity_is_treated_as_unknown() -> None:
    stale_green = Capacity(
        CapacityRag.GREEN, 5, AT_14 - CAPACITY_STALE_AFTER - timedelta(minutes=1)
    )
    fresh_amber = Capacity(CapacityRag.AMBER, 1, AT_14 - timedelta(hours=2))
    ranked = rank(
        [
            community(10, "B Team", capacity=stale_green),
            community(11, "A Team", capacity=fresh_amber),
            community(12, "C Team", capacity=green()),
        ]
    )
    assert [item.candidate.id for item in ranked] == [12, 11, 10]  # stale GREEN ties with AMBER
    assert "Capacity unknown (stale)" in by_id(ranked, 10).reasons


def test_capacity_exactly_24_hours_old_still_counts() -> None:
    day_old = Capacity(CapacityRag.RED, 2, AT_14 - CAPACITY_STALE_AFTER)
    assert "Capacity RED (2 units free)" in rank([community(10, "A", capacity=day_old)])[0].reasons


def test_open_referrals_per_unit_break_ties_between_equal_services() -> None:
    busy = community(10, "A Team", capacity=green(3))  # 6 open / 3 units = 2 each
    quiet = community(11, "B Team", capacity=green(2))  # 2 open / 2 units = 1 each
    ranked = rank([busy, quiet], open_referrals={10: 6, 11: 2})
    assert top(ranked) == 11
    assert "2 open referrals for 2 free units" in ranked[0].reasons
    assert top(rank([busy, quiet])) == 10  # no counts passed (directory search): by name


def test_open_referrals_without_known_units_compare_raw_counts() -> None:
    a = community(10, "A Team", capacity=None)
    b = community(11, "B Team", capacity=None)
    assert top(rank([a, b], open_referrals={10: 1})) == 11


# --- eligibility --------------------------------------------------------------------------------


def test_age_below_minimum_is_excluded_and_unknown_age_is_not() -> None:
    need: dict[str, Any] = {"need": Need.BEREAVEMENT_SUPPORT, "priority": Priority.P5}
    assert by_id(rank(age=17, **need), BEREAVEMENT.id).excluded_reason == (
        "Excluded: age 17 below minimum 18"
    )
    assert top(rank(age=None, **need)) == BEREAVEMENT.id
    assert top(rank(age=18, **need)) == BEREAVEMENT.id


def test_age_above_maximum_is_excluded() -> None:
    children = dataclasses.replace(COMMUNITY, max_age=17)
    assert rank([children], age=40)[0].excluded_reason == "Excluded: age 40 above maximum 17"


def test_declined_service_is_never_ranked_again() -> None:
    ranked = rank(exclude={COMMUNITY.id})
    assert top(ranked) == HOSPICE_AT_HOME.id
    declined = by_id(ranked, COMMUNITY.id)
    assert declined.rank is None
    assert declined.excluded_reason == "Excluded: declined this referral before"


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ServiceStatus.TEMPORARILY_CLOSED, "Excluded: temporarily closed"),
        (ServiceStatus.INACTIVE, "Excluded: inactive"),
    ],
)
def test_service_that_is_not_active_is_excluded(status: str, reason: str) -> None:
    closed = dataclasses.replace(COMMUNITY, status=status)
    assert closed.temporarily_closed is (status == ServiceStatus.TEMPORARILY_CLOSED)
    assert rank([closed])[0].excluded_reason == reason


def test_referrer_type_must_be_accepted() -> None:
    gp_only = dataclasses.replace(COMMUNITY, referrer_types=(CallerType.GP,))
    assert rank([gp_only], referrer_type=CallerType.PATIENT)[0].excluded_reason == (
        "Excluded: does not accept referrals from Patient"
    )
    assert rank([gp_only], referrer_type=CallerType.GP)[0].eligible
    assert rank([gp_only], referrer_type=None)[0].eligible


def test_self_referral_needs_the_service_to_accept_it() -> None:
    professional_only = dataclasses.replace(COMMUNITY, accepts_self_referral=False)
    assert rank([professional_only], referrer_type=CallerType.CARER_FAMILY)[0].excluded_reason == (
        "Excluded: does not accept self-referral (Carer or family)"
    )
    assert rank([professional_only], referrer_type=CallerType.DISTRICT_NURSE)[0].eligible


def test_every_broken_rule_is_listed() -> None:
    item = rank(
        [dataclasses.replace(NIGHT, status=ServiceStatus.INACTIVE)],
        need=Need.HOSPICE_ADMISSION,
        postcode=OUT_OF_AREA,
        exclude={NIGHT.id},
    )[0]
    assert item.reasons == (
        "Excluded: Night service does not provide Hospice admission",
        "Excluded: inactive",
        "Excluded: declined this referral before",
        "Excluded: does not cover M1 1AE",
    )


def test_service_that_never_opens_is_excluded() -> None:
    suspended = ClosurePeriod(AT_14 - timedelta(days=1), AT_14 + timedelta(days=500), "suspended")
    never = dataclasses.replace(
        COMMUNITY, schedule=Schedule(always_open=True, closures=(suspended,))
    )
    assert rank([never])[0].excluded_reason == "Excluded: no opening in the next 400 days"


# --- P4-P5 calendar caps ------------------------------------------------------------------------


def test_p5_at_a_service_closed_for_a_fortnight_does_not_meet_the_10_day_cap() -> None:
    fortnight = ClosurePeriod(AT_14, AT_14 + timedelta(days=14), "staff shortage")
    closed = dataclasses.replace(
        BEREAVEMENT,
        id=20,
        name="A Bereavement Charity",
        schedule=Schedule(windows=BEREAVEMENT.schedule.windows, closures=(fortnight,)),
    )
    request: dict[str, Any] = {"need": Need.BEREAVEMENT_SUPPORT, "priority": Priority.P5}
    ranked = rank([closed, BEREAVEMENT], **request)
    assert top(ranked) == BEREAVEMENT.id
    assert ranked[0].contact_by == local(2026, 6, 17, 14)  # 5 working days
    loser = by_id(ranked, 20)
    assert not loser.can_meet_deadline
    # Wednesday 24 June counts: the closure ends at 14:00 and the afternoon is open.
    assert loser.contact_by == local(2026, 6, 30, 14)
    assert any(r.endswith("is more than 10 days away") for r in loser.reasons)
    assert "Closed; opens Wed 24 Jun 2026 14:00" in loser.reasons
    alone = rank([closed], **request)
    assert alone[0].rank == 1  # still listed first, as the only one,
    assert top(alone) is None  # but it never wins: the coordinators decide


def test_calendar_caps_can_be_tightened() -> None:
    friday = local(2026, 6, 12, 16)
    request: dict[str, Any] = {
        "need": Need.BEREAVEMENT_SUPPORT,
        "priority": Priority.P4,
        "at": friday,
    }
    assert rank([BEREAVEMENT], **request)[0].can_meet_deadline  # Tuesday 16:00, within 4 days
    tight = rank([BEREAVEMENT], calendar_caps={"P4": timedelta(days=2)}, **request)
    assert not tight[0].can_meet_deadline
    assert tight[0].accept_by == local(2026, 6, 15, 12)  # 4 service hours: 1 on Friday, 3 Monday


# --- errors and helpers -------------------------------------------------------------------------


def test_naive_time_and_unknown_priority_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        rank(at=datetime(2026, 6, 10, 14))
    with pytest.raises(ValueError, match="unknown priority"):
        rank(priority="P9")


def test_no_candidates_means_no_winner() -> None:
    assert rank([]) == []
    assert winner([], with_intake_team=set()) is None


# --- the winner: the rule routing uses ----------------------------------------------------------


def test_the_winner_is_rank_1_when_it_can_meet_the_deadline_and_has_a_team() -> None:
    ranked = rank()
    best = winner(ranked, with_intake_team={COMMUNITY.id, HOSPICE_AT_HOME.id, NIGHT.id})
    assert best is ranked[0]
    assert best.candidate.id == COMMUNITY.id


def test_a_service_without_an_intake_team_is_passed_over_for_the_next() -> None:
    ranked = rank()
    assert top(ranked, with_intake_team={HOSPICE_AT_HOME.id, NIGHT.id}) == HOSPICE_AT_HOME.id
    # The night service has a team but cannot meet the P2 deadline at 14:00: nobody wins.
    assert top(ranked, with_intake_team={NIGHT.id}) is None
    assert top(ranked, with_intake_team=set()) is None


def test_only_services_that_can_meet_the_deadline_win_where_rank_1_alone_would_differ() -> None:
    """The cases where "the first eligible service" (a rule nothing uses any more) and the rule
    routing uses differ: rank 1 cannot meet the deadline, or has no team."""
    at_14 = rank([NIGHT])  # the only eligible service opens at 20:00, after a 16:00 deadline
    assert at_14[0].eligible and at_14[0].rank == 1 and not at_14[0].can_meet_deadline
    assert top(at_14) is None
    full = community(10, "A Team", capacity=red(0))
    behind_late_one = rank([full, NIGHT])
    assert behind_late_one[0].candidate.id == NIGHT.id
    assert top(behind_late_one) == 10
    no_team = rank([COMMUNITY, HOSPICE_AT_HOME])
    assert no_team[0].candidate.id == COMMUNITY.id
    assert top(no_team, with_intake_team={HOSPICE_AT_HOME.id}) == HOSPICE_AT_HOME.id


def test_excluded_services_never_win_even_with_a_team() -> None:
    ranked = rank(postcode=OUT_OF_AREA)
    assert top(ranked) is None
    assert all(not item.eligible for item in ranked)


def test_capacity_needs_an_aware_report_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Capacity(CapacityRag.GREEN, 1, datetime(2026, 6, 10, 14))


# --- properties ---------------------------------------------------------------------------------

PROPERTY_BASE = local(2026, 3, 23)

instants, schedules = drawn(PROPERTY_BASE, days=40, minutes=(0, 30), max_windows=4, max_closures=2)
capacities = st.none() | st.builds(
    Capacity,
    rag=st.sampled_from(list(CapacityRag)),
    units=st.none() | st.integers(0, 5),
    reported_at=instants,
)
candidate_fields = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Alpha", "Beta", "beta", "Gamma", "Delta"]),
        "service_type": st.sampled_from(list(ServiceType)),
        "status": st.sampled_from(list(ServiceStatus)),
        "schedule": schedules,
        "coverage_areas": st.lists(
            st.sampled_from(["L9", "L9 7", "L10", "L1", "M1 1"]), max_size=3
        ).map(tuple),
        "site_ids": st.lists(st.integers(1, 3), max_size=2).map(tuple),
        "min_age": st.none() | st.integers(0, 30),
        "max_age": st.none() | st.integers(10, 110),
        "referrer_types": st.lists(st.sampled_from(list(CallerType)), max_size=3).map(tuple),
        "accepts_self_referral": st.booleans(),
        "capacity": capacities,
    }
)


def _numbered(fields: list[dict[str, Any]]) -> list[ServiceCandidate]:
    return [ServiceCandidate(id=number, **f) for number, f in enumerate(fields, start=1)]


candidate_lists = st.lists(candidate_fields, max_size=8).map(_numbered)
requests = st.fixed_dictionaries(
    {
        "need": st.sampled_from(list(Need)),
        "priority": st.sampled_from(list(Priority)),
        "at": instants,
        "postcode": st.none() | st.sampled_from(["L9 7AL", "L10 1AA", "L1 8JQ", "M1 1AE"]),
        "site_id": st.none() | st.integers(1, 3),
        "age": st.none() | st.integers(0, 100),
        "referrer_type": st.none() | st.sampled_from(list(CallerType)),
        "exclude": st.sets(st.integers(1, 8), max_size=2),
        "open_referrals": st.none() | st.dictionaries(st.integers(1, 8), st.integers(0, 9)),
    }
)


def _independently_eligible(candidate: ServiceCandidate, request: dict[str, Any]) -> bool:
    if candidate.service_type not in codes.NEED_SERVICE_TYPES[request["need"]]:
        return False
    if candidate.status != ServiceStatus.ACTIVE or candidate.id in request["exclude"]:
        return False
    if request["need"] in codes.SITE_NEEDS:
        if request["site_id"] not in candidate.site_ids:
            return False
    elif request["postcode"] is None or not covers_postcode(
        candidate.coverage_areas, request["postcode"]
    ):
        return False
    age = request["age"]
    if age is not None and candidate.min_age is not None and age < candidate.min_age:
        return False
    if age is not None and candidate.max_age is not None and age > candidate.max_age:
        return False
    referrer = request["referrer_type"]
    if (
        referrer is not None
        and candidate.referrer_types
        and referrer not in candidate.referrer_types
    ):
        return False
    if referrer in codes.SELF_REFERRER_TYPES and not candidate.accepts_self_referral:
        return False
    return next_opening(candidate.schedule, request["at"]) is not None


@settings(deadline=None, max_examples=60)
@given(candidates=candidate_lists, request=requests, data=st.data())
def test_only_eligible_services_are_ranked_and_every_one_is_explained(
    candidates: list[ServiceCandidate], request: dict[str, Any], data: st.DataObject
) -> None:
    ranked = rank_services(candidates=candidates, **request)
    assert sorted(item.candidate.id for item in ranked) == [c.id for c in candidates]
    eligible = [item for item in ranked if item.eligible]
    assert ranked[: len(eligible)] == eligible  # eligible first
    assert [item.rank for item in eligible] == list(range(1, len(eligible) + 1))
    for item in ranked:
        assert item.eligible == _independently_eligible(item.candidate, request)
        assert item.reasons
        if item.eligible:
            assert item.excluded_reason is None
            assert item.contact_by is not None or not item.can_meet_deadline
        else:
            assert item.rank is None
            assert item.excluded_reason == item.reasons[0]
            assert item.excluded_reason.startswith("Excluded: ")
    # The winner: the first eligible one, in rank order, that can meet the deadline and has a team.
    with_team = data.draw(st.sets(st.integers(1, len(candidates) or 1)))
    best = winner(ranked, with_intake_team=with_team)
    able = [item for item in eligible if item.can_meet_deadline and item.candidate.id in with_team]
    assert best is (able[0] if able else None)


@settings(deadline=None, max_examples=60)
@given(candidates=candidate_lists, request=requests, data=st.data())
def test_ranking_is_deterministic_whatever_the_candidate_order(
    candidates: list[ServiceCandidate], request: dict[str, Any], data: st.DataObject
) -> None:
    first = rank_services(candidates=candidates, **request)
    assert rank_services(candidates=candidates, **request) == first
    shuffled = data.draw(st.permutations(candidates))
    assert rank_services(candidates=shuffled, **request) == first


def test_the_calendar_caps_come_from_the_settings(settings):
    from services.selectors import calendar_caps

    settings.ROUTING_P4_CALENDAR_CAP_DAYS = 2
    settings.ROUTING_P5_CALENDAR_CAP_DAYS = 7
    assert calendar_caps() == {"P4": timedelta(days=2), "P5": timedelta(days=7)}
