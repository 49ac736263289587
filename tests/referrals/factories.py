"""Factories for patients, calls and referrals in the referrals tests (factory_boy)."""

from __future__ import annotations

from datetime import date

import factory
from django.utils import timezone

from calls.models import Call
from devtools.nhs_numbers import synthetic_nhs_number
from patients.models import Patient
from patients.names import search_form
from referrals.codes import CallReason, Disposition
from referrals.models import Referral
from services.codes import CallerType, Need, Priority
from tests.factories import UserFactory


class PatientFactory(factory.django.DjangoModelFactory[Patient]):
    class Meta:
        model = Patient

    # Only the range reserved for testing (999 000 0000 - 999 999 9999), always check-digit valid.
    nhs_number = factory.Sequence(lambda n: synthetic_nhs_number(n + 5000))
    given_name = "Siân"
    family_name = factory.Sequence(lambda n: f"O'Brien{n}")
    search_name = factory.LazyAttribute(lambda o: search_form(o.given_name, o.family_name))
    date_of_birth = date(1948, 3, 14)
    postcode = "L9 7AL"
    created_by = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)


class CallFactory(factory.django.DjangoModelFactory[Call]):
    class Meta:
        model = Call

    received_at = factory.LazyFunction(timezone.now)
    caller_type = CallerType.DISTRICT_NURSE
    patient = factory.SubFactory(PatientFactory)
    reason = CallReason.REQUEST_VISIT
    suggested_priority = Priority.P2
    chosen_priority = Priority.P2
    triage_rules_version = "test"
    disposition = Disposition.REFERRALS_CREATED
    handled_by = factory.SubFactory(UserFactory)


class ReferralFactory(factory.django.DjangoModelFactory[Referral]):
    """A referral awaiting routing, from a call (its caller type is the referrer type)."""

    class Meta:
        model = Referral

    call = factory.SubFactory(CallFactory)
    patient = factory.LazyAttribute(lambda o: o.call.patient)
    need = Need.URGENT_HOME_VISIT
    priority = Priority.P2
    clock_started_at = factory.LazyAttribute(lambda o: o.call.received_at)
    created_at = factory.LazyAttribute(lambda o: o.call.received_at)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    created_by = factory.LazyAttribute(lambda o: o.call.handled_by)
    # For a related person: their consent, recorded by the handler as the call was saved.
    for_person = None
    for_person_consent_at = factory.LazyAttribute(
        lambda o: o.created_at if o.for_person is not None else None
    )
    for_person_consent_by = factory.LazyAttribute(
        lambda o: o.created_by if o.for_person is not None else None
    )


def member(make_user, team, username, role=None, lead=False):
    """A clinician of ``role`` (default specialist nurse) in ``team``, as a lead if ``lead``."""
    from services.models import TeamMembership
    from spoc.accounts.roles import Role

    user = make_user(role or Role.SPECIALIST_NURSE, username=username, is_clinician=True)
    TeamMembership.objects.create(
        user=user, team=team, role=TeamMembership.Role.LEAD if lead else TeamMembership.Role.MEMBER
    )
    return user
