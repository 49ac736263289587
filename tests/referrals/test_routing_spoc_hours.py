"""The coordinators' clocks and routing reason follow the SPOC service's own hours (docs/routing.md
"The coordinators' fallback", docs/directory.md "The SPOC's hours")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from referrals.models import Referral
from referrals.services.clocks import referral_clocks_fix
from referrals.services.routing import UNROUTABLE_REASON_MAX, referral_route, with_spoc_closed
from services.codes import Need, Priority, ServiceType
from services.hours import LONDON
from services.models import Service
from tests.referrals.factories import ReferralFactory
from tests.services.directory_fixtures import (
    make_service,
    make_spoc_8_to_8,
    make_spoc_weekdays_closed_on_bank_holidays,
    small_directory,
)

pytestmark = pytest.mark.django_db

# Wednesday 18 November 2026 (GMT).
WEDNESDAY = (2026, 11, 18)
OUT_OF_AREA = "M1 1AE"


def london(hour: int, minute: int = 0, day: tuple[int, int, int] = WEDNESDAY) -> datetime:
    return datetime(*day, hour, minute, tzinfo=LONDON)


def spoc_8_to_8() -> Service:
    return make_spoc_8_to_8(out_of_hours_message="Call NHS 111, or the out-of-hours GP on")


def route_at(moment: datetime, referral: Referral) -> Referral:
    with time_machine.travel(moment, tick=False):
        routed = referral_route(referral_id=referral.pk)
    assert routed is not None
    routed.refresh_from_db()
    return routed


def out_of_area(call_at: datetime, **fields: object) -> Referral:
    return ReferralFactory(call__received_at=call_at, call__patient__postcode=OUT_OF_AREA, **fields)


def test_a_p2_nobody_can_take_while_the_spoc_is_closed_says_so_and_gives_the_divert():
    small_directory()
    spoc = spoc_8_to_8()

    routed = route_at(london(23, 31), out_of_area(london(23, 30)))

    assert routed.team == spoc.team
    assert routed.unroutable_reason == (
        f"No service covers {OUT_OF_AREA} for Urgent home visit at P2. "
        "The SPOC is closed until 08:00 tomorrow. "
        "Out of hours: Call NHS 111, or the out-of-hours GP on 0151 496 0999"
    )
    # P1-P3 stay real time at the coordinators.
    assert routed.contact_by == london(23, 30) + timedelta(hours=2)
    assert routed.accept_by == london(23, 31) + timedelta(minutes=15)
    assert routed.events.get().data["reason"] == routed.unroutable_reason


def test_a_p2_nobody_can_take_while_the_spoc_is_open_has_the_plain_reason():
    small_directory()
    spoc_8_to_8()

    routed = route_at(london(14, 1), out_of_area(london(14, 0)))

    assert (
        routed.unroutable_reason == f"No service covers {OUT_OF_AREA} for Urgent home visit at P2"
    )


def test_a_p4_at_the_closed_spoc_counts_its_hours_and_carries_no_closure_note():
    small_directory()
    spoc_8_to_8()
    referral = out_of_area(london(21, 0), need=Need.CARER_SUPPORT, priority=Priority.P4)

    routed = route_at(london(21, 0), referral)

    # 4 SPOC hours from Thursday 08:00; 2 working days: Thursday and Friday at 21:00.
    assert routed.accept_by == london(12, 0, day=(2026, 11, 19))
    assert routed.contact_by == london(21, 0, day=(2026, 11, 20))
    assert "closed" not in routed.unroutable_reason


def test_a_p5_at_a_spoc_closed_on_bank_holidays_skips_the_holiday():
    # Friday 28 August 2026, 19:00; Monday 31 August is the Summer bank holiday in England.
    small_directory()
    make_spoc_weekdays_closed_on_bank_holidays()
    friday = (2026, 8, 28)
    referral = out_of_area(london(19, 0, day=friday), need=Need.CARER_SUPPORT, priority=Priority.P5)

    routed = route_at(london(19, 0, day=friday), referral)

    # Accept: 1 working day, the next day the SPOC opens is Tuesday 1 September.
    assert routed.accept_by == london(19, 0, day=(2026, 9, 1))


def test_a_spoc_open_24_7_counts_every_hour_and_is_never_closed():
    small_directory()
    make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
    referral = out_of_area(london(21, 0), need=Need.CARER_SUPPORT, priority=Priority.P4)

    routed = route_at(london(21, 0), referral)

    assert routed.accept_by == london(1, 0, day=(2026, 11, 19))
    assert "closed" not in routed.unroutable_reason


def test_fixing_the_clocks_of_a_referral_the_coordinators_hold_counts_the_spocs_hours():
    small_directory()
    spoc = spoc_8_to_8()
    referral = ReferralFactory(
        call__received_at=london(21, 0), need=Need.CARER_SUPPORT, priority=Priority.P4
    )
    referral.team = spoc.team
    referral.accept_clock_started_at = london(21, 0)

    referral_clocks_fix(referral, now=london(21, 0))

    assert referral.accept_by == london(12, 0, day=(2026, 11, 19))


def test_the_closure_note_is_kept_whole_when_the_reason_is_long():
    small_directory()
    spoc = spoc_8_to_8()
    spoc = Service.objects.prefetch_related("opening_hours", "closures").get(pk=spoc.pk)

    reason = with_spoc_closed("x" * UNROUTABLE_REASON_MAX, spoc, now=london(23, 0))

    assert len(reason) <= UNROUTABLE_REASON_MAX
    assert reason.endswith("Out of hours: Call NHS 111, or the out-of-hours GP on 0151 496 0999")
