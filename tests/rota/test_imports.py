"""Importing shift patterns from CSV: every bad row reported, nothing saved unless all are right."""

from __future__ import annotations

from datetime import date, time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rota.imports import RotaImportInvalid, parse_days
from rota.models import ShiftPattern
from rota.services import RotaNotPermitted, rota_import_csv
from services.models import Team
from tests.rota.factories import member

pytestmark = pytest.mark.django_db

HEADER = "person,role,phone,days,start,end,from,until,bank holidays\n"


@pytest.fixture
def people(rota_team: Team) -> list[Any]:
    return [
        member(rota_team, username="sian.obrien", first_name="Siân", last_name="O'Brien"),
        member(
            rota_team,
            username="declan",
            first_name="Declan",
            last_name="O'Brien-Nguyễn",
            email="siân.o'brien@example.nhs.uk",
        ),
        member(
            rota_team,
            username="minh",
            first_name="Minh",
            last_name="Nguyễn",
            email="minh.nguyen@example.nhs.uk",
        ),
    ]


def test_good_file_adds_every_pattern(rota_team: Team, lead: Any, people: list[Any]) -> None:
    data = (
        "\ufeff"  # Excel's "CSV UTF-8" starts with a byte-order mark
        + " Person , Role,Phone,Days,Start,End,From,Until,Bank holidays\n"
        + "sian.obrien,Specialist nurse,07700 900123,Mon-Fri,08:00,20:00,2026-12-01,,no\n"
        + "MINH.NGUYEN@example.nhs.uk,doctor,+44 7700 900124,Every day,20:00,08:00,01/12/2026,31/03/2027,\n"
        + '"Siân.O\'Brien@example.nhs.uk",Team lead,07700900125,"Sat, Sun",09:00,09:00,2026-12-05,,yes\n'
        + ",,,,,,,,\n"
    ).encode()
    created = rota_import_csv(team_id=rota_team.pk, user=lead, data=data)
    assert len(created) == 3
    assert created[2].user == people[1] and created[2].days_label == "Sat, Sun"
    first, second, _ = ShiftPattern.objects.order_by("id")
    assert (first.user, first.role, first.runs_on_bank_holidays) == (
        people[0],
        "SPECIALIST_NURSE",
        False,
    )
    assert (second.user, second.role, second.phone.as_e164) == (
        people[2],
        "DOCTOR",
        "+447700900124",
    )
    assert (second.start_time, second.end_time) == (time(20), time(8))
    assert second.valid_until_date == date(2027, 3, 31)
    assert second.runs_on_bank_holidays


def test_bad_rows_are_all_reported_and_nothing_is_saved(
    rota_team: Team, lead: Any, people: list[Any]
) -> None:
    data = (
        HEADER
        + "sian.obrien,Specialist nurse,07700 900123,Mon-Fri,08:00,20:00,2026-12-01,,\n"
        + "nobody,Surgeon,12345,Funday,25:00,8am,2026-13-01,yesterday,perhaps\n"
        + "<script>alert(1)</script>,Doctor,07700 900125,Sat Sun,08:00,20:00,2026-12-01,2026-11-01,\n"
    ).encode()
    with pytest.raises(RotaImportInvalid) as caught:
        rota_import_csv(team_id=rota_team.pk, user=lead, data=data)
    problems = [(p.row, p.column) for p in caught.value.problems]
    assert problems == [
        (3, "person"),
        (3, "role"),
        (3, "phone"),
        (3, "days"),
        (3, "start"),
        (3, "end"),
        (3, "from"),
        (3, "until"),
        (3, "bank holidays"),
        (4, "person"),
        (4, "until"),
    ]
    assert not ShiftPattern.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"person,role\nsian.obrien,Doctor\n", 'The header row has no column "phone"'),
        (HEADER.encode(), "The file has a header row and no shifts."),
        ("person,rôle\n".encode("latin-1"), "The file is not UTF-8 text"),
        (b"\x00\x01\x02", "The file is not a CSV text file."),
        (HEADER.encode() + b"x," * 10 + b"\n" * 0 + b"a" * (600 * 1024), "larger than 512 KB"),
    ],
)
def test_a_file_that_is_not_a_rota_says_why(
    rota_team: Team, lead: Any, data: bytes, message: str
) -> None:
    with pytest.raises(RotaImportInvalid) as caught:
        rota_import_csv(team_id=rota_team.pk, user=lead, data=data)
    assert message in caught.value.problems[0].message


def test_only_an_editor_imports(rota_team: Team, nurse: Any) -> None:
    with pytest.raises(RotaNotPermitted):
        rota_import_csv(team_id=rota_team.pk, user=nurse, data=HEADER.encode())


def test_import_page_lists_the_problems_and_imports_a_good_file(
    client: Any, rota_team: Team, lead: Any, people: list[Any]
) -> None:
    client.force_login(lead)
    url = reverse("rota:import", args=[rota_team.pk])
    assert client.get(url).status_code == 200
    bad = SimpleUploadedFile(
        "rota.csv", (HEADER + "nobody,Doctor,07700 900123,Mon,08:00,16:00,2026-12-01,,\n").encode()
    )
    response = client.post(url, {"file": bad})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="import-problem"' in page
    assert "No member of staff who works shifts has this username" in page
    assert "nothing was imported" in page
    good = SimpleUploadedFile(
        "rota.csv",
        (HEADER + "sian.obrien,Doctor,07700 900123,Mon,08:00,16:00,2026-12-01,,\n").encode(),
    )
    assert client.post(url, {"file": good}).status_code == 302
    assert ShiftPattern.objects.count() == 1
    assert "Choose a CSV file" in client.post(url, {}).content.decode()


def test_days_are_read_in_every_usual_form() -> None:
    assert parse_days("Mon-Fri") == [0, 1, 2, 3, 4]
    assert parse_days("sat sun") == [5, 6]
    assert parse_days("Mon, Wed; Fri") == [0, 2, 4]
    assert parse_days("Fri-Mon") == [0, 4, 5, 6]
    assert parse_days("Every day") == list(range(7))
    for bad in ("", "Funday", "Mon-Someday"):
        with pytest.raises(ValueError):
            parse_days(bad)
