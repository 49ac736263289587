"""The GP hears back (docs/interop.md): the outcome letter to a patient's registered practice, as
a FHIR R4 document Bundle and a PDF drawn from the same data."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from interop.gp_letters import gp_letters_feed
from interop.letters import document_pdf, letter_document, letter_pdf, letter_text
from interop.outbox import outbox_deliver
from patients.codes import PlaceOfDeath
from patients.models import CarePlan
from referrals import letters
from referrals.codes import InterventionType, ReferralOutcome
from referrals.models import GpLetter, OutboxMessage, Referral
from referrals.services.claims import referral_claim, referral_complete, referral_contact
from referrals.services.interventions import intervention_record
from referrals.services.letters import gp_letter_add
from referrals.services.outbox import outbox_take_next
from referrals.transitions import ReferralStatus
from services.codes import CallerType, OrganisationType, ServiceType
from services.models import Organisation
from spoc.accounts.roles import Role
from spoc.audit.models import AccessLog
from tests.interop.fhir import fhir_valid
from tests.interop.pdf_text import pdf_lines
from tests.interop.test_outbox import PartnerEndpoint
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory, member
from tests.services.directory_fixtures import every_day, make_service
from workspace.services import death_record

BASE = "http://hub.example/fhir/R4/"
UK_CORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _data(**changes: Any) -> letters.LetterData:
    referral = letters.LetterReferral(
        reference="REF-000123",
        need="Urgent home visit",
        priority="P2 Urgent (2-hour response)",
        asked_at=_at(2, 14, 32),
        asked_by="GP, Walton Surgery",
        team="Evening Star night team",
        interventions=(
            letters.LetterIntervention(_at(2, 16, 5), "Home visit"),
            letters.LetterIntervention(_at(3, 9, 15), "Phone advice"),
        ),
        outcome="Needs met",
        closed_at=_at(4, 10),
    )
    data = letters.LetterData(
        letter_id="7d1c3a4e-5b6f-4c8d-9e0f-112233445566",
        kind=letters.LetterKind.COMPLETION,
        written_at=_at(4, 10, 1),
        patient_id=42,
        nhs_number="9990000018",
        given_name="Thu",
        family_name="Nguyễn",
        date_of_birth=date(1941, 3, 7),
        sex="female",
        practice=letters.LetterOrganisation("Y01234", "Walton Surgery", "L9 7AL"),
        author=letters.LetterOrganisation("RBS01", "Evening Star Hospice"),
        signed_by="Evening Star night team",
        referrals=(referral,),
    )
    return replace(data, **changes)


def _death(achieved: bool | None, preferred: tuple[str, ...]) -> letters.LetterData:
    data = _data(kind=letters.LetterKind.DEATH, written_at=_at(5, 4))
    closed = replace(data.referrals[0], outcome="Patient died", closed_at=_at(5, 3, 10))
    return replace(
        data,
        referrals=(closed,),
        death=letters.LetterDeath(
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


# --- Made once, delivered through the outbox --------------------------------------------------

MORNING = "2026-12-02T10:00:00+00:00"


@pytest.fixture
def at_morning() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def practice_server() -> Iterator[PartnerEndpoint]:
    server = PartnerEndpoint()
    yield server
    server.stop()


@pytest.fixture
def team_a(db: None) -> Any:
    return make_service(
        "Community Palliative Care", ServiceType.COMMUNITY_SPC, hours=every_day(8, 20)
    ).team


@pytest.fixture
def spoc_team(db: None) -> Any:
    return make_service("SPOC coordinators", ServiceType.SPOC, open_24_7=True).team


def a_practice(endpoint: str = "", ods: str = "Y01234") -> Organisation:
    return Organisation.objects.create(
        ods_code=ods,
        name="Walton Surgery",
        org_type=OrganisationType.GP_PRACTICE,
        postcode="L9 7AL",
        endpoint=endpoint,
    )


def claimed_referral(team: Any, nurse: Any, practice: Organisation | None) -> Referral:
    patient = PatientFactory(given_name="Thu", family_name="Nguyễn", registered_practice=practice)
    call = CallFactory(
        patient=patient,
        caller_type=CallerType.GP,
        caller_organisation="Walton Surgery",
        received_at=timezone.now() - timedelta(hours=1),
    )
    referral = ReferralFactory(
        call=call,
        status=ReferralStatus.QUEUED,
        team=team,
        contact_by=timezone.now() + timedelta(hours=2),
    )
    referral_claim(referral_id=referral.pk, user=nurse)
    intervention_record(
        referral_id=referral.pk,
        user=nurse,
        kind=InterventionType.HOME_VISIT,
        at=timezone.now() - timedelta(minutes=5),
    )
    return referral


def completed(team: Any, nurse: Any, practice: Organisation | None) -> Referral:
    referral = claimed_referral(team, nurse, practice)
    referral_contact(referral_id=referral.pk, user=nurse)
    referral_complete(referral_id=referral.pk, user=nurse, outcome=ReferralOutcome.NEEDS_MET)
    return referral


def died_in_hospice(patient_id: int, coordinator: Any) -> None:
    """The patient's death an hour ago in a hospice, expected, recorded by ``coordinator``."""
    death_record(
        patient_id=patient_id,
        user=coordinator,
        died_at=timezone.now() - timedelta(hours=1),
        place=PlaceOfDeath.HOSPICE,
        expected=True,
        verified_by="Jo Kennedy, district nurse",
        bereavement_for=[],
    )


def run_jobs() -> None:
    gp_letters_feed()
    outbox_deliver()


@pytest.mark.django_db
def test_a_practice_with_an_endpoint_receives_the_letter_once_on_completion(
    at_morning, practice_server, team_a, make_user
):
    nurse = member(make_user, team_a, "nurse1")
    practice = a_practice(endpoint=practice_server.url)
    referral = completed(team_a, nurse, practice)
    for _ in range(3):
        run_jobs()
        at_morning.shift(timedelta(minutes=1))

    received = practice_server.received()
    assert len(received) == 1
    document = received[0]
    fhir_valid(document)
    assert document["type"] == "document"
    assert practice_server.posts[0].content_type == "application/fhir+json"
    assert practice_server.posts[0].request_id == document["id"]
    letter = GpLetter.objects.get()
    assert (letter.kind, letter.referral_id, letter.practice_id) == (
        "COMPLETION",
        referral.pk,
        practice.pk,
    )
    assert document_pdf(document) == bytes(letter.pdf)
    printed = _printed(bytes(letter.pdf))
    assert "NGUYỄN, Thu" in printed
    assert "Asked by GP, Walton Surgery." in printed
    assert "Home visit" in printed
    assert "Needs met" in printed
    assert OutboxMessage.objects.get(letter=letter).status == OutboxMessage.Status.SENT


@pytest.mark.django_db
def test_a_practice_without_an_endpoint_gets_files_in_the_drop_folder(
    at_morning, team_a, make_user, tmp_path
):
    nurse = member(make_user, team_a, "nurse1")
    completed(team_a, nurse, a_practice(ods="Y05678"))
    with override_settings(DATA_DIR=tmp_path):
        run_jobs()
        run_jobs()
    letter = GpLetter.objects.get()
    folder = tmp_path / "mesh" / "out" / "Y05678"
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(f"{letter.letter_id}{suffix}" for suffix in (".ctl", ".json", ".pdf"))
    document = json.loads((folder / f"{letter.letter_id}.json").read_text())
    fhir_valid(document)
    assert (folder / f"{letter.letter_id}.pdf").read_bytes() == bytes(letter.pdf)
    control = json.loads((folder / f"{letter.letter_id}.ctl").read_text())
    assert control["to"] == "Y05678" and control["message_id"] == str(letter.letter_id)
    assert [entry["name"] for entry in control["files"]] == [
        f"{letter.letter_id}.json",
        f"{letter.letter_id}.pdf",
    ]
    assert OutboxMessage.objects.get(letter=letter).status == OutboxMessage.Status.SENT


@pytest.mark.django_db
def test_a_letter_is_never_posted_to_a_practice_endpoint_in_plain_http_elsewhere(
    at_morning, team_a, make_user
):
    nurse = member(make_user, team_a, "nurse1")
    # Saved before the hub required https (the import refuses it now).
    completed(
        team_a, nurse, a_practice(endpoint="http://gp.example.nhs.uk/fhir/R4/$process-message")
    )
    run_jobs()
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.last_error) == (
        "FAILED",
        1,
        "The endpoint is not an https address.",
    )


@pytest.mark.django_db
def test_a_practice_code_that_cannot_name_a_folder_fails_its_letter_and_the_run_goes_on(
    at_morning, team_a, make_user, tmp_path
):
    nurse = member(make_user, team_a, "nurse1")
    # Saved by hand, past the import's check of the code.
    completed(team_a, nurse, a_practice(ods="Y0/123"))
    completed(team_a, nurse, a_practice(ods="Y05678"))
    with override_settings(DATA_DIR=tmp_path):
        run_jobs()
    bad, good = OutboxMessage.objects.order_by("letter__practice__ods_code")
    assert (bad.status, bad.attempts, bad.last_error) == (
        "FAILED",
        1,
        "The practice's ODS code cannot name a drop folder.",
    )
    assert good.status == OutboxMessage.Status.SENT
    assert not (tmp_path / "mesh" / "out" / "Y0").exists()


@pytest.mark.django_db
def test_a_hanging_practice_costs_one_timeout_per_run_and_holds_up_no_other_destination(
    at_morning, team_a, make_user
):
    hanging, up = PartnerEndpoint(), PartnerEndpoint()
    hanging.mode = "hanging"
    try:
        nurse = member(make_user, team_a, "nurse1")
        slow = a_practice(endpoint=hanging.url, ods="Y01234")
        quick = a_practice(endpoint=up.url, ods="Y05678")
        stuck = [completed(team_a, nurse, slow), completed(team_a, nurse, slow)]
        waiting = completed(team_a, nurse, quick)
        gp_letters_feed()
        first, second = (OutboxMessage.objects.get(letter__referral=r) for r in stuck)

        # Another worker, while the first letter to the hanging practice is on its way, takes
        # the other practice's letter, never the second letter to the same practice.
        taken = outbox_take_next(now=timezone.now(), skip_partner_ids=())
        assert taken is not None and taken.pk == first.pk
        other = outbox_take_next(now=timezone.now(), skip_partner_ids=())
        assert other is not None and other.letter_id == waiting.gp_letters.get().pk
        OutboxMessage.objects.update(attempts=0, sending_until=None)

        with override_settings(OUTBOX_TIMEOUT_SECONDS=0.5):
            outbox_deliver()

        assert len(up.received()) == 1
        assert OutboxMessage.objects.get(letter__referral=waiting).status == "SENT"
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, first.attempts, first.last_error) == (
            "PENDING",
            1,
            "No answer within 0.5 s.",
        )
        # The practice did not answer: its second letter waits for the next run instead of
        # waiting out the timeout too.
        assert (second.status, second.attempts) == ("PENDING", 0)
        assert len(hanging.posts) == 1
    finally:
        hanging.stop()
        up.stop()


@pytest.mark.django_db
def test_a_death_sends_one_letter_with_the_place_and_whether_it_was_preferred(
    at_morning, practice_server, team_a, spoc_team, make_user
):
    nurse = member(make_user, team_a, "nurse1")
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coordinator1")
    referral = claimed_referral(team_a, nurse, a_practice(endpoint=practice_server.url))
    CarePlan.objects.create(
        patient=referral.patient,
        version=1,
        ppd_first=PlaceOfDeath.OWN_HOME,
        created_at=timezone.now(),
        created_by=coordinator,
    )
    died_in_hospice(referral.patient_id, coordinator)
    for _ in range(3):
        run_jobs()
        at_morning.shift(timedelta(minutes=1))

    received = practice_server.received()
    assert len(received) == 1  # the death's letter; the referral it closed has none of its own
    fhir_valid(received[0])
    letter = GpLetter.objects.get()
    assert letter.kind == GpLetter.Kind.DEATH
    printed = _printed(bytes(letter.pdf))
    assert "Death of your patient" in printed
    assert "Place of death: Hospice." in printed
    assert "Preferred place of death: Patient's own home." in printed
    assert "The patient did not die in their preferred place." in printed
    assert f"REF-{referral.pk:06d} (Urgent home visit) was closed when the patient died." in printed
    sections = [s["title"] for s in received[0]["entry"][0]["resource"]["section"]]
    assert "Death" in sections


@pytest.mark.django_db
def test_no_registered_practice_no_letter_and_the_page_says_so(
    at_morning, team_a, make_user, client
):
    nurse = member(make_user, team_a, "nurse1")
    referral = completed(team_a, nurse, None)
    run_jobs()
    assert GpLetter.objects.count() == 0
    assert OutboxMessage.objects.count() == 0
    client.force_login(nurse)
    page = client.get(reverse("queue:referral", args=[referral.pk]))
    assert "The patient has no registered GP practice" in page.content.decode()


@pytest.mark.django_db
def test_history_older_than_the_lookback_is_not_sent(at_morning, team_a, make_user):
    nurse = member(make_user, team_a, "nurse1")
    completed(team_a, nurse, a_practice())
    at_morning.shift(timedelta(days=8))
    assert gp_letters_feed() == 0


@pytest.mark.django_db
def test_the_feed_makes_each_letter_once(at_morning, team_a, make_user):
    nurse = member(make_user, team_a, "nurse1")
    referral = completed(team_a, nurse, a_practice())
    assert gp_letters_feed() == 1
    assert gp_letters_feed() == 0
    # A letter already made for the event is refused by the database, however the feed races.
    event = referral.events.get(kind="COMPLETED")
    assert (
        gp_letter_add(
            kind=GpLetter.Kind.COMPLETION,
            patient_id=referral.patient_id,
            practice_id=GpLetter.objects.get().practice_id,
            letter_id=str(uuid.uuid4()),
            pdf=b"%PDF-",
            document={},
            now=timezone.now(),
            event_id=event.pk,
            referral_id=referral.pk,
        )
        is None
    )
    assert GpLetter.objects.count() == 1 and OutboxMessage.objects.count() == 1


@pytest.mark.django_db
def test_the_teams_nurse_opens_the_letter_and_another_teams_nurse_gets_404(
    at_morning, team_a, make_user, client, django_assert_max_num_queries
):
    nurse = member(make_user, team_a, "nurse1")
    team_b = make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME).team
    other = member(make_user, team_b, "nurse2")
    referral = completed(team_a, nurse, a_practice())
    gp_letters_feed()
    letter = GpLetter.objects.get()
    url = reverse("queue:letter", args=[referral.pk, letter.pk])

    client.force_login(nurse)
    page = client.get(reverse("queue:referral", args=[referral.pk]))
    assert url in page.content.decode()
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == bytes(letter.pdf)
    assert AccessLog.objects.filter(object_type="gp_letter", object_id=str(letter.pk)).exists()

    client.force_login(other)
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_death_letter_is_shown_only_to_those_who_may_see_every_referral_it_covers(
    at_morning, practice_server, team_a, spoc_team, make_user, client
):
    nurse = member(make_user, team_a, "nurse1")
    team_b = make_service("Hospice at Home", ServiceType.HOSPICE_AT_HOME).team
    other = member(make_user, team_b, "nurse2")
    coordinator = make_user(Role.SPOC_COORDINATOR, username="coordinator1")
    ours = claimed_referral(team_a, nurse, a_practice(endpoint=practice_server.url))
    theirs = ReferralFactory(
        call=CallFactory(patient=ours.patient, received_at=timezone.now() - timedelta(hours=1)),
        status=ReferralStatus.QUEUED,
        team=team_b,
        contact_by=timezone.now() + timedelta(hours=2),
    )
    referral_claim(referral_id=theirs.pk, user=other)
    died_in_hospice(ours.patient_id, coordinator)
    gp_letters_feed()
    letter = GpLetter.objects.get(kind=GpLetter.Kind.DEATH)
    # The letter covers both referrals: each team's work and outcome.
    assert f"REF-{theirs.pk:06d}" in _printed(bytes(letter.pdf))

    for user, referral, status in (
        (nurse, ours, 404),
        (other, theirs, 404),
        (coordinator, ours, 200),
    ):
        client.force_login(user)
        url = reverse("queue:letter", args=[referral.pk, letter.pk])
        page = client.get(reverse("queue:referral", args=[referral.pk])).content.decode()
        assert (url in page) is (status == 200)
        assert client.get(url).status_code == status


def test_a_name_the_font_cannot_draw_prints_a_notice_never_a_blank_banner():
    data = _data(given_name="秀英", family_name="王", signed_by="Evening Star 夜班")
    pdf = letter_pdf(data)
    printed = _printed(pdf)
    assert "The patient's name has characters this letter cannot print: see the attached FHIR " in (
        printed
    )
    assert "This line has characters this letter cannot print" in printed  # the signature
    assert "NHS number 999 000 0018" in printed  # the rest of the banner prints
    assert "王" not in printed
    # The document carries the name as it is.
    document = letter_document(data, pdf, base=BASE)
    patient = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert patient["name"][0]["family"] == "王"
