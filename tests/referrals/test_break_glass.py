"""Break-glass reads and never writes (docs/security.md, "Who may read and write what").

Only the direct-care roles break glass; a grant opens the record for reading during its window;
every clinical write checks the write permission and the patients in the user's care without
break-glass, on the pages and in the API.
"""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from patients.codes import PlaceOfDeath
from patients.models import CarePlan, DeathRecord, HospitalAdmission, Patient, RelatedPerson
from referrals.access import BREAK_GLASS_SECONDS
from referrals.models import Referral
from referrals.selectors import patients_visible_to, patients_writable_by
from referrals.transitions import ReferralStatus
from spoc.accounts.roles import BREAK_GLASS, ROLE_PERMISSIONS, WRITE_CLINICAL, Role
from spoc.audit.models import AccessLog
from tests.referrals.builders import patient_form
from tests.referrals.factories import PatientFactory, ReferralFactory

pytestmark = pytest.mark.django_db

REASON = "Patient collapsed at the day centre; own team unreachable"
SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def queued(patient, team):
    return ReferralFactory(
        call__patient=patient, patient=patient, status=ReferralStatus.QUEUED, team=team
    )


def break_glass(client, patient):
    return client.post(reverse("patients:break-glass", args=[patient.pk]), {"reason": REASON})


def forge_grant(client, patient):
    """A grant written straight into the session, as if break-glass had been allowed."""
    session = client.session
    session["break_glass"] = {str(patient.pk): timezone.now().timestamp() + 600}
    session.save()


def _died():
    moment = timezone.localtime() - timedelta(hours=2)
    return {
        "died_date": moment.strftime("%Y-%m-%d"),
        "died_time": moment.strftime("%H:%M"),
        "place": PlaceOfDeath.HOSPICE,
        "expected": "yes",
        "verified_by": "Dr H. Walsh",
    }


def _details(patient):
    return patient_form(
        nhs_number=patient.nhs_number,
        nhs_number_status="02",
        family_name="Changed",
        date_of_birth="1948-03-14",
        postcode="L9 7AL",
        phone="",
    )


# Every page that writes a patient's clinical record: url name, a valid form, what it would write.
WRITES = {
    "admission": (
        "dashboards:admissions",
        lambda p: {"admitted_on": "2026-01-10", "discharged_on": "", "kind": "emergency"},
        lambda p: HospitalAdmission.objects.filter(patient=p).exists(),
    ),
    "care plan": (
        "patients:care-plan",
        lambda p: {"ppd_first": "21", "primary_diagnosis": "Lung cancer", "base_version": "0"},
        lambda p: CarePlan.objects.filter(patient=p).exists(),
    ),
    "death": (
        "patients:death",
        lambda p: _died(),
        lambda p: DeathRecord.objects.filter(patient=p).exists(),
    ),
    "details": (
        "patients:edit",
        _details,
        lambda p: Patient.objects.filter(pk=p.pk, family_name="Changed").exists(),
    ),
    "related person": (
        "patients:person-add",
        lambda p: {"given_name": "Aled", "family_name": "Jones", "relationship": "CHILD"},
        lambda p: RelatedPerson.objects.filter(patient=p).exists(),
    ),
}


# --- Who may break glass ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", [Role.AUDITOR, Role.MANAGER, Role.DIRECTORY_ADMIN, Role.SYSTEM_ADMIN]
)
def test_roles_without_direct_care_cannot_break_glass(client, make_user, role):
    patient = PatientFactory()
    client.force_login(make_user(role))
    url = reverse("patients:break-glass", args=[patient.pk])
    assert client.get(url).status_code == 403
    assert break_glass(client, patient).status_code == 403
    assert not AccessLog.objects.filter(action=AccessLog.Action.BREAK_GLASS).exists()
    assert "break_glass" not in client.session
    # The record is not even offered: 404, as for a patient who does not exist.
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.MANAGER, Role.DIRECTORY_ADMIN])
def test_a_grant_in_the_session_opens_nothing_for_a_role_that_cannot_break_glass(
    client, make_user, role
):
    patient = PatientFactory()
    user = make_user(role)
    client.force_login(user)
    forge_grant(client, patient)
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404
    admissions = reverse("dashboards:admissions", args=[patient.pk])
    assert client.get(admissions).status_code == 404
    response = client.post(admissions, WRITES["admission"][1](patient))
    assert response.status_code in (403, 404)
    assert not HospitalAdmission.objects.filter(patient=patient).exists()
    assert not patients_visible_to(user, break_glass_ids=[patient.pk]).exists()


@pytest.mark.parametrize(
    "role", [Role.CALL_HANDLER, Role.SPECIALIST_NURSE, Role.TEAM_LEAD, Role.SPOC_COORDINATOR]
)
def test_direct_care_roles_break_glass_and_write_only_without_it(make_user, role):
    user = make_user(role)
    assert user.has_perm(BREAK_GLASS) and user.has_perm(WRITE_CLINICAL)
    stranger = PatientFactory()
    assert patients_visible_to(user, break_glass_ids=[stranger.pk]).filter(pk=stranger.pk).exists()
    # Handlers and coordinators write for everyone (they are the single point of contact); a
    # nurse never for a patient she only opened by break-glass.
    writable = patients_writable_by(user).filter(pk=stranger.pk).exists()
    assert writable is (role in (Role.CALL_HANDLER, Role.SPOC_COORDINATOR))


# --- Break-glass reads ------------------------------------------------------------------------


def test_nurse_outside_the_team_breaks_glass_and_reads_the_record(client, nurse, other_team):
    patient = PatientFactory()
    queued(patient, other_team)
    client.force_login(nurse)
    assert break_glass(client, patient)["Location"] == reverse("patients:detail", args=[patient.pk])
    page = client.get(reverse("patients:detail", args=[patient.pk]))
    assert page.status_code == 200
    # The page offers no change: the record is read only for her.
    assert not page.context["can_write"]
    assert not page.context["can_edit_care_plan"] and not page.context["can_edit_patient"]
    html = page.content.decode()
    for url in (
        reverse("patients:death", args=[patient.pk]),
        reverse("patients:person-add", args=[patient.pk]),
        reverse("patients:care-plan", args=[patient.pk]),
        reverse("patients:edit", args=[patient.pk]),
    ):
        assert f'href="{url}"' not in html, url
    assert client.get(reverse("dashboards:admissions", args=[patient.pk])).status_code == 200


def test_a_grant_reads_for_its_window_only(client, settings, nurse, other_team):
    # The idle timeout would end the whole session first: here only the grant's window counts.
    settings.SESSION_IDLE_TIMEOUT_SECONDS = 2 * BREAK_GLASS_SECONDS
    patient = PatientFactory()
    queued(patient, other_team)
    client.force_login(nurse)
    break_glass(client, patient)
    detail = reverse("patients:detail", args=[patient.pk])
    assert client.get(detail).status_code == 200
    with time_machine.travel(
        timezone.now() + timedelta(seconds=BREAK_GLASS_SECONDS + 1), tick=False
    ):
        response = client.get(detail)
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:break-glass", args=[patient.pk])


def test_every_read_under_break_glass_is_logged_with_its_reason(client, nurse, team, other_team):
    stranger, own = PatientFactory(), PatientFactory()
    queued(stranger, other_team)
    queued(own, team)
    client.force_login(nurse)
    break_glass(client, stranger)
    for patient in (stranger, own):
        assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
        assert client.get(reverse("patients:care-plan", args=[patient.pk])).status_code in (
            200,
            403,
        )
    reads = AccessLog.objects.exclude(action=AccessLog.Action.BREAK_GLASS).filter(
        patient_id__in=[stranger.pk, own.pk]
    )
    by_patient = {
        patient.pk: {row.reason for row in reads.filter(patient_id=patient.pk)}
        for patient in (stranger, own)
    }
    # The reason follows every read of the record opened by break-glass, and no other.
    assert by_patient == {stranger.pk: {REASON}, own.pk: {""}}


# --- Break-glass never writes -----------------------------------------------------------------


@pytest.mark.parametrize("write", sorted(WRITES))
def test_after_break_glass_every_write_is_refused_and_writes_nothing(
    client, nurse, other_team, write
):
    patient = PatientFactory()
    queued(patient, other_team)
    client.force_login(nurse)
    break_glass(client, patient)
    url_name, form, written = WRITES[write]
    url = reverse(url_name, args=[patient.pk])
    response = client.post(url, form(patient))
    assert response.status_code == 403
    assert not written(patient)
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_same_writes_succeed_for_the_patients_own_team(client, nurse, team, write):
    """The refusals above are break-glass's, not broken forms: her own team's patient takes them."""
    patient = PatientFactory()
    queued(patient, team)
    client.force_login(nurse)
    url_name, form, written = WRITES[write]
    response = client.post(reverse(url_name, args=[patient.pk]), form(patient))
    assert response.status_code == 302, (
        getattr(response, "context", {}) and response.context["form"].errors
    )
    assert written(patient)


def test_after_break_glass_referral_actions_are_refused(client, nurse, other_team):
    patient = PatientFactory()
    referral = queued(patient, other_team)
    client.force_login(nurse)
    break_glass(client, patient)
    response = client.post(reverse("queue:action", args=[referral.pk, "claim"]), {})
    assert response.status_code == 404
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.QUEUED and referral.owner_id is None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AUDITOR, Role.DIRECTORY_ADMIN])
def test_read_only_roles_write_nothing_on_a_patient_they_may_read(client, make_user, team, role):
    """A manager reads the patients of her organisation's services; she writes none of them."""
    from services.models import OrganisationMembership

    patient = PatientFactory()
    referral = queued(patient, team)
    user = make_user(role)
    OrganisationMembership.objects.create(user=user, organisation=team.service.organisation)
    client.force_login(user)
    for url_name, form, written in WRITES.values():
        response = client.post(reverse(url_name, args=[patient.pk]), form(patient))
        assert response.status_code in (403, 404), url_name
        assert not written(patient), url_name
    assert (
        client.post(
            reverse("queue:action", args=[referral.pk, "cancel"]), {"reason": "x"}
        ).status_code
        == 403
    )
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.QUEUED


# --- The API ----------------------------------------------------------------------------------


def test_break_glass_in_the_browser_writes_nothing_through_the_api(client, nurse, other_team):
    patient = PatientFactory()
    referral = queued(patient, other_team)
    client.force_login(nurse)
    break_glass(client, patient)
    died = {
        "died_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        "place": PlaceOfDeath.HOSPICE,
    }
    death = client.post(
        f"/api/v1/patients/{patient.pk}/death/", json.dumps(died), content_type="application/json"
    )
    assert death.status_code in (403, 404)
    assert not DeathRecord.objects.filter(patient=patient).exists()
    claim = client.post(
        f"/api/v1/referrals/{referral.pk}/claim/", "{}", content_type="application/json"
    )
    assert claim.status_code in (403, 404)
    referral.refresh_from_db()
    assert referral.owner_id is None


def test_api_writes_need_the_write_permission_itself(make_user, team):
    """Write checks are the write permission's, not borrowed from a reading permission: a user
    holding take_calls and coordinate without write_clinical writes nothing."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    user = make_user(None, username="readonly", is_clinician=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts",
            codename__in=["take_calls", "coordinate", "work_team_queue"],
        )
    )
    patient = PatientFactory()
    referral = queued(patient, team)
    api = APIClient()
    api.force_authenticate(user)
    call = api.post(
        "/api/v1/calls/",
        {
            "received_at": timezone.now().isoformat(),
            "caller_type": "PATIENT",
            "reason": "MEDICATION_QUERY",
            "disposition": "ADVICE_GIVEN",
        },
        format="json",
    )
    assert call.status_code == 403
    died = {
        "died_at": (timezone.now() - timedelta(hours=2)).isoformat(),
        "place": PlaceOfDeath.HOSPICE,
    }
    assert api.post(f"/api/v1/patients/{patient.pk}/death/", died, format="json").status_code == 403
    assert (
        api.post(
            f"/api/v1/referrals/{referral.pk}/cancel/", {"reason": "x"}, format="json"
        ).status_code
        == 403
    )
    assert not DeathRecord.objects.filter(patient=patient).exists()
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.QUEUED


# --- One table, one place ---------------------------------------------------------------------


def _table_rows() -> dict[str, list[str]]:
    text = SECURITY_DOC.read_text()
    section = text.split("## Who may read and write what", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in Role.values:
            rows[cells[0]] = cells
    return rows


def test_the_table_in_docs_security_says_what_roles_py_grants():
    rows = _table_rows()
    assert set(rows) == set(Role.values)
    for role, perms in ROLE_PERMISSIONS.items():
        breaks_glass, writes = rows[role][2], rows[role][3]
        assert (
            re.match(r"Yes\b", breaks_glass)
            if BREAK_GLASS in perms
            else breaks_glass.startswith("No")
        ), role
        assert re.match(r"Yes\b", writes) if WRITE_CLINICAL in perms else writes.startswith("No"), (
            role
        )
