"""Small builders for dashboard tests: raw rows exactly as the services of other apps write them
(the dashboards only read them)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from hypothesis import HealthCheck, settings

from calls.models import Call, TelephonyCall, TelephonyEvent
from calls.services.telephony import telephony_event_record
from calls.telephony import EventKind, TelephonyEventIn
from patients.models import DeathRecord, HospitalAdmission, Patient
from referrals.models import Intervention, Referral, ReferralEvent
from referrals.services.deaths import death_place_fields
from services.models import OrganisationMembership, PostcodeDeprivation, Team, TeamMembership
from spoc.accounts.roles import Role
from spoc.dashboards.selectors import dashboard_table
from spoc.dashboards.services import summaries_refresh
from tests.factories import OrganisationFactory, ServiceFactory, TeamFactory
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory

LONDON = ZoneInfo("Europe/London")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def call_at(
    at: datetime,
    *,
    user: Any,
    patient: Patient | None = None,
    caller_type: str = "GP",
    suggested: str = "P2",
    chosen: str = "P2",
) -> Call:
    fields: dict[str, Any] = {
        "received_at": at,
        "handled_by": user,
        "caller_type": caller_type,
        "suggested_priority": suggested,
        "chosen_priority": chosen,
        "override_reason": "" if suggested == chosen else "Clinical judgement",
    }
    if patient is not None:
        fields["patient"] = patient
    else:
        fields["patient"] = PatientFactory(created_by=user)
    return CallFactory(**fields)


def referral_for(
    call: Call,
    *,
    team: Team | None,
    priority: str = "P2",
    need: str = "URGENT_HOME_VISIT",
    status: str = "QUEUED",
    **fields: Any,
) -> Referral:
    owner = fields.pop("owner", None)
    if status in {"ACCEPTED", "IN_PROGRESS"} and owner is None:
        owner = call.handled_by
    referral = ReferralFactory(
        call=call,
        team=team,
        priority=priority,
        need=need,
        status=status,
        owner=owner,
        accept_clock_started_at=call.received_at,
        **fields,
    )
    ReferralEvent.objects.create(
        referral=referral,
        kind=ReferralEvent.Kind.CREATED,
        at=call.received_at,
        to_status=status,
        team=team,
    )
    return referral


def referral_change(referral: Referral, *, kind: str = "CLAIMED", **fields: Any) -> Referral:
    """Change a referral's row and write its event, as a lifecycle service does."""
    for name, value in fields.items():
        setattr(referral, name, value)
    referral.updated_at = timezone.now()
    referral.save()
    ReferralEvent.objects.create(
        referral=referral,
        kind=kind,
        at=timezone.now(),
        to_status=referral.status,
        team=referral.team,
    )
    return referral


def intervention_for(
    referral: Referral,
    *,
    at: datetime,
    kind: str = "HOME_VISIT",
    user: Any,
    bed_days: int | None = None,
    primary_care: bool = False,
) -> Intervention:
    return Intervention.objects.create(
        referral=referral,
        kind=kind,
        at=at,
        by=user,
        recorded_at=at,
        admission_avoided=bed_days is not None,
        bed_days_saved=bed_days,
        primary_care_contact_avoided=primary_care,
    )


def death_of(
    patient: Patient,
    *,
    at: datetime,
    place: str,
    user: Any,
    first: str = "",
    second: str = "",
    care_preferred: str = "",
    last_days_place: str = "",
    usual_residence: str = "",
) -> DeathRecord:
    """A death record as ``workspace.services.death_record`` writes it: the preferred places in
    force, and the outcome flags worked out by the death service's own rule."""
    if usual_residence:
        Patient.objects.filter(pk=patient.pk).update(usual_residence=usual_residence)
    return DeathRecord.objects.create(
        patient=patient,
        died_at=at,
        **death_place_fields(
            place=place,
            first=first,
            second=second,
            care_preferred=care_preferred,
            last_days_place=last_days_place,
        ),
        recorded_at=at,
        recorded_by=user,
    )


def equity_of(
    patient: Patient | None,
    *,
    ethnic: str = "99",
    diagnosis: str = "NOT_KNOWN",
    postcode: str = "L9 7AL",
    decile: int | None = None,
) -> Patient:
    """Set a patient's equity groups (as the patient form saves them) and, with ``decile``, the
    deprivation decile of their postcode (as ``import_deprivation`` loads it)."""
    assert patient is not None
    Patient.objects.filter(pk=patient.pk).update(
        ethnic_category=ethnic, diagnosis_group=diagnosis, postcode=postcode
    )
    if decile is not None:
        PostcodeDeprivation.objects.update_or_create(
            postcode=postcode, defaults={"decile": decile, "imported_at": timezone.now()}
        )
    patient.refresh_from_db()
    return patient


def admission_of(
    patient: Patient, *, on: date, emergency: bool = True, days: int = 2
) -> HospitalAdmission:
    return HospitalAdmission.objects.create(
        patient=patient,
        admitted_on=on,
        discharged_on=on + timedelta(days=days),
        emergency=emergency,
        recorded_at=timezone.now(),
    )


def phone_events(call_id: str, *events: tuple[str, datetime]) -> TelephonyCall:
    """A phone call's events as the phone system sends them, in the order given, each recorded by
    the telephony service (which keeps the call's times and outcome and makes its call-back)."""
    heard = TelephonyEvent.objects.filter(telephony_call__external_id=call_id).count()
    for n, (kind, at) in enumerate(events, heard):
        telephony_event_record(
            event=TelephonyEventIn(
                event_id=f"{call_id}:{n}:{kind}",
                call_id=call_id,
                kind=EventKind(kind),
                occurred_at=at,
                caller="+441514960123",
                line="+441514960000",
                extension="2001" if kind in {"answered", "transferred"} else "",
            )
        )
    return TelephonyCall.objects.get(external_id=call_id)


def phone_call(
    call_id: str,
    *,
    rang_at: datetime,
    answered_after: float | None = None,
    ended_after: float | None = None,
    ending: str = "ended",
) -> TelephonyCall:
    """A phone call that rang at ``rang_at``, answered and ended so many seconds later (None:
    not), its ending event of kind ``ending`` (ended, abandoned, voicemail)."""
    events = [("ringing", rang_at)]
    if answered_after is not None:
        events.append(("answered", rang_at + timedelta(seconds=answered_after)))
    if ended_after is not None:
        events.append((ending, rang_at + timedelta(seconds=ended_after)))
    return phone_events(call_id, *events)


def table_rows(figures: dict[str, Any], key: str) -> list[list[Any]]:
    """The rows of the dashboard table ``key`` in ``figures``."""
    table = dashboard_table(figures=figures, key=key)
    assert table is not None
    return table["rows"]


# The property-based histories of the summaries: ten each, however long a run takes.
random_histories = settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))


def dashboard_world(make_user: Any) -> dict[str, Any]:
    """Two organisations' teams with referrals, calls and an intervention, counted in the
    summaries; a manager of the first, its team's lead and nurse, and a call handler."""
    org_a, org_b = OrganisationFactory(name="Org A"), OrganisationFactory(name="Org B")
    team_a = TeamFactory(service=ServiceFactory(organisation=org_a), name="Team A")
    team_b = TeamFactory(service=ServiceFactory(organisation=org_b), name="Team B")
    handler = make_user(Role.CALL_HANDLER, username="handler_v")
    manager = make_user(Role.MANAGER, username="manager_a")
    OrganisationMembership.objects.create(user=manager, organisation=org_a)
    lead = make_user(Role.TEAM_LEAD, username="lead_a")
    TeamMembership.objects.create(user=lead, team=team_a, role=TeamMembership.Role.LEAD)
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse_a")
    TeamMembership.objects.create(user=nurse, team=team_a)
    now = timezone.now()
    for n in range(7):
        call = call_at(now - timedelta(days=2, hours=n), user=handler)
        referral = referral_for(call, team=team_a, contact_by=now + timedelta(days=1))
        if n < 2:
            referral_for(
                call_at(now - timedelta(days=3, hours=n), user=handler),
                team=team_b,
                contact_by=now - timedelta(hours=1),
            )
        if n == 0:
            referral_change(
                referral,
                status="ACCEPTED",
                owner=nurse,
                accepted_at=referral.created_at + timedelta(minutes=9),
            )
            intervention_for(referral, at=now - timedelta(days=1), user=nurse, bed_days=3)
    # Six phone calls to the SPOC's lines: four answered within 60 s, two abandoned.
    for n in range(6):
        phone_call(
            f"world-{n}",
            rang_at=now - timedelta(days=2, hours=n),
            answered_after=None if n > 3 else 20 + n,
            ended_after=200,
            ending="abandoned" if n > 3 else "ended",
        )
    summaries_refresh(horizon_seconds=0)
    return {
        "org_a": org_a,
        "org_b": org_b,
        "team_a": team_a,
        "team_b": team_b,
        "manager": manager,
        "lead": lead,
        "nurse": nurse,
        "handler": handler,
    }
