"""Referrals in the state the lifecycle tests start from; a patient's details as the pages and the
API take them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from referrals.models import Referral
from referrals.transitions import ReferralStatus
from tests.referrals.factories import ReferralFactory


def queued(team: Any, **fields: Any) -> Referral:
    """A referral waiting in ``team``'s queue since now: 15 minutes to accept, two hours to first
    contact (the P2 clock). ``fields`` override any of it."""
    now = timezone.now()
    return ReferralFactory(
        **{
            "team": team,
            "status": ReferralStatus.QUEUED,
            "accept_clock_started_at": now,
            "accept_by": now + timedelta(minutes=15),
            "contact_by": now + timedelta(hours=2),
            **fields,
        }
    )


# Siân O'Brien as a call handler types her in: the details the patient form and the API share.
PATIENT_DETAILS = {
    "given_name": "Siân",
    "family_name": "O'Brien",
    "date_of_birth": "1950-03-04",
    "sex": "female",
    "address": "1 Dock Road",
    "postcode": "l9 7al",
    "phone": "0151 496 0101",
}


def patient_form(**fields: Any) -> dict[str, Any]:
    """The patient form (registering, editing) as posted for Siân O'Brien: no NHS number, to be
    traced (03), at home, the optional fields empty. ``fields`` override any of it."""
    return {
        "nhs_number": "",
        "nhs_number_status": "03",
        **PATIENT_DETAILS,
        "phone_alt": "",
        "gp_practice": "",
        "usual_residence": "OWN_HOME",
        "location": "HOME",
        "location_site": "",
        "language": "",
        "ethnic_category": "99",
        "diagnosis_group": "NOT_KNOWN",
        "access_information": "",
        **fields,
    }
