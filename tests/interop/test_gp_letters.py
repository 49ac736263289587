"""The GP hears back (docs/interop.md): the outcome letter to a patient's registered practice, as
a FHIR R4 document Bundle and a PDF drawn from the same data."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from interop.letters import document_pdf, letter_document, letter_pdf, letter_text
from referrals.letters import (
    LetterData,
    LetterDeath,
    LetterIntervention,
    LetterKind,
    LetterOrganisation,
    LetterReferral,
)
from tests.interop.fhir import fhir_valid
from tests.interop.pdf_text import pdf_lines

BASE = "http://hub.example/fhir/R4/"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _data(**changes: Any) -> LetterData:
    referral = LetterReferral(
        reference="REF-000123",
        need="Urgent home visit",
        priority="P2 Urgent (2-hour response)",
        asked_at=_at(2, 14, 32),
        asked_by="GP, Walton Surgery",
        team="Evening Star night team",
        interventions=(
            LetterIntervention(_at(2, 16, 5), "Home visit"),
            LetterIntervention(_at(3, 9, 15), "Phone advice"),
        ),
        outcome="Needs met",
        closed_at=_at(4, 10),
    )
    data = LetterData(
        letter_id="7d1c3a4e-5b6f-4c8d-9e0f-112233445566",
        kind=LetterKind.COMPLETION,
        written_at=_at(4, 10, 1),
        patient_id=42,
        nhs_number="9990000018",
        given_name="Thu",
        family_name="Nguyễn",
        date_of_birth=date(1941, 3, 7),
        sex="female",
        practice=LetterOrganisation("Y01234", "Walton Surgery", "L9 7AL"),
        author=LetterOrganisation("RBS01", "Evening Star Hospice"),
        signed_by="Evening Star night team",
        referrals=(referral,),
    )
    return replace(data, **changes)


def _death(achieved: bool | None, preferred: tuple[str, ...]) -> LetterData:
    data = _data(kind=LetterKind.DEATH, written_at=_at(5, 4))
    closed = replace(data.referrals[0], outcome="Patient died", closed_at=_at(5, 3, 10))
    return replace(
        data,
        referrals=(closed,),
        death=LetterDeath(
            died_at=_at(5, 3, 10),
            place="Hospice",
            preferred=preferred,
            achieved=achieved,
            expected=True,
        ),
    )


def _printed(pdf: bytes) -> str:
    """The PDF's text, lines run together: a letter line wrapped on the page reads whole."""
    return re.sub(r"\s+", " ", " ".join(pdf_lines(pdf)))


def test_the_pdf_prints_every_line_of_the_letter_with_the_patients_name_accented():
    data = _data()
    pdf = letter_pdf(data)
    assert pdf.startswith(b"%PDF-")
    printed = _printed(pdf)
    for line in letter_text(data):
        assert re.sub(r"\s+", " ", line) in printed
    assert "NGUYỄN, Thu" in printed
    assert "NHS number 999 000 0018" in printed
    assert "Born 07-Mar-1941" in printed


def test_the_letter_says_what_was_asked_by_whom_what_was_done_and_the_outcome():
    lines = letter_text(_data())
    assert lines[:5] == [
        "Evening Star night team",
        "Evening Star Hospice",
        "Walton Surgery",
        "L9 7AL",
        "ODS code Y01234",
    ]
    assert "Outcome of referral REF-000123" in lines
    assert (
        "REF-000123, 2 March 2026, 14:32: Urgent home visit, P2 Urgent (2-hour response). "
        "Asked by GP, Walton Surgery." in lines
    )
    assert "2 March 2026, 16:05: Home visit" in lines
    assert "3 March 2026, 09:15: Phone advice" in lines
    assert "REF-000123 was completed on 4 March 2026, 10:00: Needs met." in lines
    assert not any("Place of death" in line for line in lines)


def test_a_partners_referral_names_the_system_and_the_requester():
    referral = replace(
        _data().referrals[0],
        asked_by="NHS 111 North West (ZZ111), requested by Dr Thu Nguyễn, Clinical advisor",
        interventions=(),
    )
    lines = letter_text(_data(referrals=(referral,)))
    assert any(
        "Asked by NHS 111 North West (ZZ111), requested by Dr Thu Nguyễn" in line for line in lines
    )
    assert "REF-000123 by Evening Star night team: no intervention was recorded." in lines


def test_a_death_letter_says_the_place_and_whether_it_was_the_preferred_one():
    achieved = letter_text(_death(True, ("Patient's own home", "Hospice")))
    assert "Death of your patient" in achieved
    assert "Place of death: Hospice." in achieved
    assert "Preferred place of death: Patient's own home, then Hospice." in achieved
    assert "The patient died in their preferred place." in achieved
    assert "REF-000123 (Urgent home visit) was closed when the patient died." in achieved
    missed = letter_text(_death(False, ("Patient's own home",)))
    assert "The patient did not die in their preferred place." in missed
    unknown = letter_text(_death(None, ()))
    assert "No preferred place of death was recorded." in unknown
    assert not any("their preferred place" in line for line in unknown)


def test_a_death_with_no_referral_open_still_says_so():
    lines = letter_text(replace(_death(None, ()), referrals=()))
    assert "No referral was open when the patient died." in lines


def test_the_same_letter_is_the_same_bytes():
    assert letter_pdf(_data()) == letter_pdf(_data())


def test_the_document_bundle_is_valid_fhir_with_the_composition_first_and_the_pdf_inside():
    data = _death(False, ("Patient's own home",))
    pdf = letter_pdf(data)
    document = letter_document(data, pdf, base=BASE)
    fhir_valid(document)
    assert document["type"] == "document"
    assert document["identifier"]["value"] == f"urn:uuid:{data.letter_id}"
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["meta"]["profile"] == [f"{UK_CORE}Composition"]
    assert composition["subject"]["identifier"] == {
        "system": "https://fhir.nhs.uk/Id/nhs-number",
        "value": "9990000018",
    }
    assert [section["title"] for section in composition["section"]] == [
        "What was asked",
        "What was done",
        "Outcome",
        "Death",
        "Letter",
    ]
    assert "Place of death: Hospice." in composition["section"][3]["text"]["div"]
    resources = {entry["fullUrl"]: entry["resource"] for entry in document["entry"]}
    author = resources[composition["author"][0]["reference"]]
    assert author["resourceType"] == "Organization"
    assert author["identifier"][0]["value"] == "RBS01"
    patient = resources[composition["subject"]["reference"]]
    assert patient["identifier"][0]["value"] == "9990000018"
    assert patient["name"][0]["family"] == "Nguyễn"
    practice = resources[patient["generalPractitioner"][0]["reference"]]
    assert practice["identifier"][0]["value"] == "Y01234"
    attachment = resources[composition["section"][-1]["entry"][0]["reference"]]["content"][0]
    assert attachment["attachment"]["contentType"] == "application/pdf"
    assert document_pdf(document) == pdf


def test_a_patient_without_an_nhs_number_says_not_known_and_stays_valid():
    data = _data(nhs_number="")
    assert "NHS number not known" in letter_text(data)
    document = letter_document(data, letter_pdf(data), base=BASE)
    fhir_valid(document)
    assert "identifier" not in document["entry"][0]["resource"]["subject"]
