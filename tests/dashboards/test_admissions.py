"""Hospital admissions: recorded and imported (patients/admissions.py, import_admissions)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from devtools.nhs_numbers import synthetic_nhs_number
from patients.admissions import admission_record, admissions_import
from patients.models import HospitalAdmission
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from spoc.dashboards.models import DeathOutcome
from spoc.dashboards.services import summaries_refresh
from tests.dashboards.builders import death_of, local
from tests.referrals.factories import PatientFactory


@pytest.fixture
def patients(make_user: Any) -> list[Any]:
    user = make_user(Role.SPECIALIST_NURSE, username="nurse_adm")
    return [PatientFactory(created_by=user, family_name=name) for name in ("O'Brien", "Nguyễn")]


@pytest.mark.django_db
def test_import_saves_every_row(patients: list[Any], tmp_path: Path) -> None:
    a, b = patients
    path = tmp_path / "admissions.csv"
    path.write_text(
        "nhs_number,admitted,discharged,type\n"
        f"{a.nhs_number[:3]} {a.nhs_number[3:6]} {a.nhs_number[6:]},2026-01-05,2026-01-09,emergency\n"
        f"{b.nhs_number},2026-02-01,,Elective\n",
        encoding="utf-8",
    )
    call_command("import_admissions", str(path))
    rows = HospitalAdmission.objects.order_by("admitted_on")
    assert [(r.patient_id, r.emergency, r.source, r.discharged_on) for r in rows] == [
        (a.pk, True, "IMPORTED", date(2026, 1, 9)),
        (b.pk, False, "IMPORTED", None),
    ]
    logged = AccessLog.objects.filter(object_type="admission", action=AccessLog.Action.CREATE)
    assert sorted(logged.values_list("patient_id", "username")) == sorted(
        [(a.pk, "import_admissions"), (b.pk, "import_admissions")]
    )


@pytest.mark.django_db
def test_import_is_atomic_and_reports_rejected_rows_by_line(patients: list[Any]) -> None:
    a, _b = patients
    text = (
        "nhs_number,admitted,discharged,type\n"
        f"{a.nhs_number},2026-01-05,2026-01-09,emergency\n"
        "9434765918,2026-01-05,,emergency\n"  # check digit wrong
        f"{a.nhs_number},05/01/2026,,emergency\n"  # not an ISO date
        f"{a.nhs_number},2026-01-10,2026-01-01,elective\n"  # discharged before admitted
        f"{a.nhs_number},2026-01-11,,<script>alert(1)</script>\n"
        f"{synthetic_nhs_number(999_999)},2026-01-05,,emergency\n"  # valid number, unknown patient
        f"{a.nhs_number},2026-01-05,2026-01-09,emergency\n"
    )  # duplicate of line 2
    result = admissions_import(lines=text.splitlines(keepends=True))
    assert result.imported == 0
    assert [line for line, _ in result.rejected] == [3, 4, 5, 6, 7, 8]
    assert "check digit" in dict(result.rejected)[3]
    assert "<script>" in dict(result.rejected)[6]
    assert dict(result.rejected)[7] == "no patient with this NHS number"
    assert HospitalAdmission.objects.count() == 0


@pytest.mark.django_db
def test_import_command_fails_with_lines_and_missing_columns(
    patients: list[Any], tmp_path: Path, capsys: Any
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("nhs,admitted\n1,2\n", encoding="utf-8")
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_admissions", str(path))
    assert "line 1: Missing column(s): nhs_number, discharged, type" in capsys.readouterr().err
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_admissions", str(tmp_path / "absent.csv"))


@pytest.mark.django_db
def test_record_validates_fields(patients: list[Any]) -> None:
    a, _ = patients
    future = timezone.localdate() + timedelta(days=2)
    with pytest.raises(ValidationError) as error:
        admission_record(
            patient=a, admitted_on=future, discharged_on=None, emergency=True, user=None
        )
    assert "admitted_on" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        admission_record(
            patient=a,
            admitted_on=date(2026, 1, 5),
            discharged_on=date(2026, 1, 1),
            emergency=True,
            user=None,
        )
    assert "discharged_on" in error.value.message_dict
    admission_record(
        patient=a, admitted_on=date(2026, 1, 5), discharged_on=None, emergency=True, user=None
    )
    with pytest.raises(ValidationError):
        admission_record(
            patient=a, admitted_on=date(2026, 1, 5), discharged_on=None, emergency=True, user=None
        )
    assert HospitalAdmission.objects.count() == 1


@pytest.mark.django_db
def test_imported_admissions_reach_the_death_outcome(patients: list[Any], make_user: Any) -> None:
    a, _ = patients
    death_of(a, at=local(2026, 3, 20, 8), place="21", user=make_user(username="recorder"))
    summaries_refresh(horizon_seconds=0)
    assert DeathOutcome.objects.get().emergency_admissions_90d == 0
    text = "nhs_number,admitted,discharged,type\n" + "".join(
        f"{a.nhs_number},2026-0{m}-02,,emergency\n" for m in (1, 2, 3)
    )
    assert admissions_import(lines=text.splitlines(keepends=True)).imported == 3
    summaries_refresh(horizon_seconds=0)
    assert DeathOutcome.objects.get().emergency_admissions_90d == 3


@pytest.mark.django_db
def test_admission_page_records_and_explains_errors(client: Any, make_user: Any) -> None:
    from django.urls import reverse

    from spoc.audit.models import AccessLog

    handler = make_user(Role.CALL_HANDLER, username="handler_page")
    patient = PatientFactory(created_by=handler, family_name="Nguyễn")
    url = reverse("dashboards:admissions", args=[patient.pk])
    client.force_login(handler)
    page = client.get(url)
    assert page.status_code == 200 and "NGUYỄN" in page.content.decode()
    bad = client.post(
        url, {"admitted_on": "2026-01-10", "discharged_on": "2026-01-01", "kind": "emergency"}
    )
    assert bad.status_code == 400
    assert "The discharge date must be on or after the admission date." in bad.content.decode()
    assert HospitalAdmission.objects.count() == 0
    good = client.post(url, {"admitted_on": "2026-01-10", "discharged_on": "", "kind": "emergency"})
    assert good.status_code == 302
    admission = HospitalAdmission.objects.get()
    assert (
        admission.emergency and admission.source == "RECORDED" and admission.recorded_by == handler
    )
    assert (
        AccessLog.objects.filter(
            action=AccessLog.Action.CREATE, object_type="admission", patient_id=patient.pk
        ).count()
        == 1
    )
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse_not_his")
    client.force_login(nurse)
    assert client.get(url).status_code == 404
