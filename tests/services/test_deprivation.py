"""Area deprivation deciles: the import (good file, bad rows by line, idempotent), the command,
and the decile on the patient page."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from services.deprivation import deprivation_decile, deprivation_import
from services.models import PostcodeDeprivation
from tests.referrals.builders import patient_form
from tests.referrals.factories import PatientFactory

pytestmark = pytest.mark.django_db

GOOD = "postcode,decile\nL9 7AL,1\nl207aa,10\nPR8 1AA,5\n"


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_a_good_file_is_loaded_with_postcodes_normalised() -> None:
    result = deprivation_import(lines=lines(GOOD))
    assert (result.added, result.changed, result.unchanged, result.rejected) == (3, 0, 0, [])
    assert dict(PostcodeDeprivation.objects.values_list("postcode", "decile")) == {
        "L9 7AL": 1,
        "L20 7AA": 10,
        "PR8 1AA": 5,
    }
    assert deprivation_decile(postcode="L20 7AA") == 10
    assert deprivation_decile(postcode="L1 1AA") is None and deprivation_decile(postcode="") is None


def test_importing_the_same_file_again_changes_nothing_and_a_new_one_updates() -> None:
    deprivation_import(lines=lines(GOOD))
    again = deprivation_import(lines=lines(GOOD))
    assert (again.added, again.changed, again.unchanged) == (0, 0, 3)
    assert PostcodeDeprivation.objects.count() == 3
    later = deprivation_import(lines=lines("postcode,decile\nL9 7AL,2\nL4 0TH,3\n"))
    assert (later.added, later.changed, later.unchanged) == (1, 1, 0)
    # Postcodes absent from the later file are kept.
    assert (
        deprivation_decile(postcode="L9 7AL") == 2 and deprivation_decile(postcode="PR8 1AA") == 5
    )


def test_bad_rows_are_reported_by_line_and_nothing_is_saved() -> None:
    text = (
        "postcode,decile\n"
        "L9 7AL,1\n"
        "NOT A POSTCODE,3\n"
        "L20 7AA,0\n"
        "PR8 1AA,eleven\n"
        "L4 0TH,11\n"
        "<script>,2\n"
        "L9 7AL,4\n"
        "L9 7AL,1\n"
    )
    result = deprivation_import(lines=lines(text))
    assert [line for line, _ in result.rejected] == [3, 4, 5, 6, 7, 8]
    messages = dict(result.rejected)
    assert "from 1 to 10, not 0" in messages[4] and "'eleven'" in messages[5]
    assert "another decile" in messages[8]
    assert not PostcodeDeprivation.objects.exists()


def test_a_file_without_the_columns_is_refused() -> None:
    result = deprivation_import(lines=lines("pcd,imd_decile\nL9 7AL,1\n"))
    assert result.rejected and result.rejected[0][0] == 1 and "postcode" in result.rejected[0][1]
    assert not PostcodeDeprivation.objects.exists()


def test_the_command_says_what_it_did_and_reports_bad_rows(tmp_path: Path) -> None:
    good = tmp_path / "deciles.csv"
    good.write_text(GOOD, encoding="utf-8")
    out = StringIO()
    call_command("import_deprivation", str(good), stdout=out)
    assert "3 postcode(s) added, 0 changed, 0 unchanged" in out.getvalue()
    assert "rebuild_summaries" in out.getvalue()
    out = StringIO()
    call_command("import_deprivation", str(good), stdout=out)
    assert "0 postcode(s) added, 0 changed, 3 unchanged" in out.getvalue()
    assert "rebuild_summaries" not in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,decile\nL9 7AL,12\n", encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="1 row"):
        call_command("import_deprivation", str(bad), stderr=err)
    assert "line 2:" in err.getvalue()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_deprivation", str(tmp_path / "missing.csv"))


def test_the_patient_page_shows_the_decile_and_the_equity_groups(
    client: Any, make_user: Any
) -> None:
    from spoc.accounts.roles import Role

    handler = make_user(Role.CALL_HANDLER)
    patient = PatientFactory(postcode="L9 7AL", ethnic_category="H", diagnosis_group="RENAL")
    client.force_login(handler)
    url = reverse("patients:detail", args=[patient.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="deprivation-decile">Not known' in html
    deprivation_import(lines=lines(GOOD))
    html = client.get(url).content.decode()
    assert 'data-testid="deprivation-decile">1 of 10' in html
    assert "Asian or Asian British - Indian" in html and "Kidney disease" in html


def test_the_patient_form_takes_the_equity_fields_and_refuses_others(
    client: Any, make_user: Any
) -> None:
    from spoc.accounts.roles import Role

    handler = make_user(Role.CALL_HANDLER)
    patient = PatientFactory(postcode="L9 7AL")
    client.force_login(handler)
    url = reverse("patients:edit", args=[patient.pk])
    base = patient_form(
        nhs_number=patient.nhs_number, nhs_number_status="01", date_of_birth="1948-03-14"
    )
    bad = client.post(url, {**base, "ethnic_category": "<script>", "diagnosis_group": "X"})
    assert bad.status_code == 200
    html = bad.content.decode()
    assert "Choose an ethnic category from the list" in html
    assert "Choose a diagnosis group from the list" in html and "&lt;script&gt;" not in html
    patient.refresh_from_db()
    assert (patient.ethnic_category, patient.diagnosis_group) == ("99", "NOT_KNOWN")
    good = client.post(url, {**base, "ethnic_category": "M", "diagnosis_group": "NEUROLOGICAL"})
    assert good.status_code == 302
    patient.refresh_from_db()
    assert (patient.ethnic_category, patient.diagnosis_group) == ("M", "NEUROLOGICAL")
