"""GP practices (services/practices.py): imported from CSV, all or nothing; the patient's practice
linked when what was typed names one; shown on the patient page and in the API."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from patients.models import Patient
from services.codes import OrganisationType
from services.models import Organisation
from services.practices import gp_practices_import, practice_for
from tests.referrals.builders import patient_form

pytestmark = pytest.mark.django_db

HEADER = "ods_code,name,postcode,endpoint"


def _import(*rows: str):
    return gp_practices_import([HEADER, *rows])


def test_import_creates_then_updates_practices():
    result = _import(
        "n82001,Aintree Park Surgery,l9 7al,https://gp.example.nhs.uk/n82001",
        "N82002,Rice Lane Medical Centre,,",
    )
    assert (result.created, result.updated, result.rejected) == (2, 0, [])
    aintree = Organisation.objects.get(ods_code="N82001")
    assert (aintree.org_type, aintree.postcode, aintree.endpoint) == (
        OrganisationType.GP_PRACTICE,
        "L9 7AL",
        "https://gp.example.nhs.uk/n82001",
    )
    again = _import("N82001,Aintree Park Surgery (Dr O'Brien),L9 7AL,")
    assert (again.created, again.updated) == (0, 1)
    aintree.refresh_from_db()
    assert (aintree.name, aintree.endpoint) == ("Aintree Park Surgery (Dr O'Brien)", "")


def test_a_bad_file_imports_nothing_and_names_each_line():
    Organisation.objects.create(
        ods_code="RQ6", name="Royal Liverpool", org_type=OrganisationType.NHS_TRUST
    )
    result = _import(
        "N82001,Aintree Park Surgery,L9 7AL,",
        "N8!,Bad code,,",
        "N82003,,,",
        "N82004,Bad postcode,NOT A POSTCODE,",
        "N82005,Bad endpoint,,javascript:alert(1)",
        "N82001,Twice,,",
        "RQ6,A trust is no practice,,",
    )
    assert result.created == 0
    lines = dict(result.rejected)
    assert sorted(lines) == [3, 4, 5, 6, 7, 8]
    assert "3 to 10 letters and digits" in lines[3] and "1 to 200 characters" in lines[4]
    assert "endpoint" in lines[6] and "twice" in lines[7] and "NHS trust" in lines[8]
    assert not Organisation.objects.filter(org_type=OrganisationType.GP_PRACTICE).exists()


def test_a_practice_endpoint_must_be_https_unless_on_this_computer():
    result = _import(
        "N82001,Aintree Park Surgery,,http://gp.example.nhs.uk/n82001",
        "N82002,Rice Lane Medical Centre,,http://127.0.0.1:8070/gp/N82002",
    )
    assert [line for line, _ in result.rejected] == [2]
    assert "https" in result.rejected[0][1]
    assert not Organisation.objects.exists()
    assert _import("N82002,Rice Lane Medical Centre,,http://127.0.0.1:8070/gp/N82002").created == 1


def test_a_file_without_the_header_is_refused():
    result = gp_practices_import(["N82001,Aintree Park Surgery,L9 7AL,"])
    assert result.rejected and "header" in result.rejected[0][1]


def test_the_command_reports_counts_or_every_rejected_line(tmp_path: Path):
    good = tmp_path / "practices.csv"
    good.write_text(f"{HEADER}\nN82001,Aintree Park Surgery,L9 7AL,\n", encoding="utf-8")
    out = StringIO()
    call_command("import_gp_practices", str(good), stdout=out)
    assert out.getvalue().strip() == "1 practices added, 0 updated."
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\nN8!,x,,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 2: the ODS code"):
        call_command("import_gp_practices", str(bad), stdout=StringIO())


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("N82001", "N82001"),
        ("n82001", "N82001"),
        ("Aintree Park Surgery (N82001)", "N82001"),
        ("aintree park surgery", "N82001"),
        ("Rice Lane", None),
        ("Dock Road Surgery", None),
        ("RQ6", None),
        ("", None),
    ],
)
def test_the_practice_is_found_by_its_code_or_its_one_name(typed, found):
    _import(
        "N82001,Aintree Park Surgery,,", "N82002,Dock Road Surgery,,", "N82003,Dock Road Surgery,,"
    )
    Organisation.objects.create(
        ods_code="RQ6", name="Royal Liverpool", org_type=OrganisationType.NHS_TRUST
    )
    practice = practice_for(typed)
    assert (practice.ods_code if practice else None) == found


def test_the_patient_page_and_api_show_the_linked_practice(client, handler):
    _import("N82001,Aintree Park Surgery,L9 7AL,")
    client.force_login(handler)
    page = client.get(reverse("patients:register"))
    assert '<option value="Aintree Park Surgery (N82001)">' in page.content.decode()
    client.post(
        reverse("patients:register"), patient_form(gp_practice="Aintree Park Surgery (N82001)")
    )
    patient = Patient.objects.get()
    assert (
        patient.registered_practice is not None and patient.registered_practice.ods_code == "N82001"
    )
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "Aintree Park Surgery (ODS N82001)" in detail
    body = client.get(f"/api/v1/patients/{patient.pk}/").json()
    assert body["registered_practice"] == {"ods_code": "N82001", "name": "Aintree Park Surgery"}


def test_a_practice_not_in_the_directory_is_kept_as_typed_and_said_so(client, handler):
    client.force_login(handler)
    typed = "Dr Siân's <script>alert(1)</script> practice"
    client.post(reverse("patients:register"), patient_form(gp_practice=typed))
    patient = Patient.objects.get()
    assert (patient.gp_practice, patient.registered_practice) == (typed, None)
    detail = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert "&lt;script&gt;" in detail and "<script>alert(1)" not in detail
    assert "(not a practice in the directory)" in detail
