"""The worklists' rows drawn in Python (referrals/templatetags/worklist.py): the same HTML as the
templates they replace, each viewer's own buttons, and a poll after each kind of change to the
team's queue showing the rows as they now are."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient, RelatedPerson
from patients.services import PatientData, patient_update
from referrals.models import QueueDetailsVersion
from referrals.services.claims import (
    referral_claim,
    referral_complete,
    referral_contact,
    referral_release,
)
from referrals.services.lifecycle import referral_reprioritise
from referrals.templatetags.worklist import for_person_html
from services.models import TeamMembership
from spoc.accounts.models import User
from spoc.audit.models import AccessLog
from tests.factories import TeamFactory
from tests.referrals.builders import queued
from tests.referrals.factories import PatientFactory, member

pytestmark = pytest.mark.django_db

MOMENT = "2026-12-02T10:00:30+00:00"


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "0151 496 0101", "postcode": "L9 7AL", "is_main_carer": True},
        {"phone": "", "postcode": "", "is_main_carer": False},
        {"family_name": "O'Brien <b>", "given_name": 'Siân & "Jo"', "relationship": "OTHER"},
    ],
    ids=["phone-postcode-main-carer", "nothing-to-add", "awkward-characters"],
)
def test_whom_a_referral_is_for_is_drawn_as_the_referral_pages_template_draws_it(fields):
    person = RelatedPerson(
        patient_id=1,
        **{
            "family_name": "Smith",
            "given_name": "Jo",
            "relationship": "CHILD",
            "is_main_carer": False,
            "phone": "",
            "postcode": "",
            **fields,
        },
    )
    assert for_person_html(person) == render_to_string(
        "referrals/_for_person.html", {"person": person}
    )


def _poll(client, team, version):
    return client.get(
        reverse("queue:team", args=[team.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_X_SPOC_POLL="1",
        HTTP_X_QUEUE_VERSION=version,
    )


def _row(content: str, referral_id: int) -> str:
    """The ``<tr>`` of one referral in a queue block ("" when it is not there)."""
    start = content.find(f'data-referral="{referral_id}"')
    return "" if start < 0 else content[start : content.index("</tr>", start)]


def test_each_nurse_sees_only_her_own_buttons_on_a_row(client, make_user, team):
    first, second = member(make_user, team, "nurse1"), member(make_user, team, "nurse2")
    referral = queued(team)
    referral_claim(referral_id=referral.pk, user=first)
    client.force_login(first)
    mine = _row(_poll(client, team, "stale").content.decode(), referral.pk)
    assert f'name="contact" value="{referral.pk}"' in mine
    assert f'name="release" value="{referral.pk}"' in mine
    client.force_login(second)
    theirs = _row(_poll(client, team, "stale").content.decode(), referral.pk)
    assert 'data-testid="queue-owner"' in theirs
    assert "name=" not in theirs and ">Open</a>" not in theirs
    referral_contact(referral_id=referral.pk, user=first)
    client.force_login(first)
    assert '">Open</a>' in _row(_poll(client, team, "stale").content.decode(), referral.pk)
    client.force_login(second)
    assert ">Open</a>" not in _row(_poll(client, team, "stale").content.decode(), referral.pk)


def test_a_poll_after_each_change_of_the_queue_shows_the_rows_as_they_now_are(
    client, make_user, team
):
    nurse = member(make_user, team, "nurse1")
    lead = member(make_user, team, "lead1", lead=True)
    with time_machine.travel(MOMENT, tick=False) as clock:
        referral = queued(team, priority="P3", patient=PatientFactory(family_name="Moss"))
        client.force_login(nurse)
        page = client.get(reverse("queue:team", args=[team.pk]))
        version = page.context["version"]
        assert 'name="claim"' in _row(page.content.decode(), referral.pk)
        clock.shift(timedelta(seconds=5))

        def changed() -> str:
            """The open tab's next poll, then a few seconds on: the clock is frozen, and a
            change made at the very moment of the last one would share its time stamp."""
            nonlocal version
            poll = _poll(client, team, version)
            assert poll.status_code == 200
            version = poll.context["version"]
            clock.shift(timedelta(seconds=5))
            return poll.content.decode()

        # Claimed: accepted, with its owner and her buttons.
        referral_claim(referral_id=referral.pk, user=nurse)
        row = _row(changed(), referral.pk)
        assert "Accepted" in row and 'name="release"' in row and 'name="claim"' not in row
        # Released: waiting again, to be claimed by anyone.
        referral_release(referral_id=referral.pk, user=nurse)
        row = _row(changed(), referral.pk)
        assert 'name="claim"' in row and 'data-testid="queue-owner"' not in row
        # Its priority raised: drawn as a P1, urgent and not claimed.
        referral_reprioritise(
            referral_id=referral.pk, user=lead, priority="P1", reason="Pain out of control"
        )
        row = _row(changed(), referral.pk)
        assert 'class="hub-priority--p1">P1<' in row and 'data-testid="badge-urgent"' in row
        # The minute ticks: how long it has waited, though nothing in the database changed.
        waited = _row(_poll(client, team, "stale").content.decode(), referral.pk)
        clock.shift(timedelta(minutes=3))
        later = _row(_poll(client, team, "stale").content.decode(), referral.pk)
        assert waited != later and "3 minutes</td>" in later
        # A new referral arrives.
        arrived = queued(team)
        content = changed()
        assert _row(content, arrived.pk) and _row(content, referral.pk)
        # A referral leaves the queue: completed, it is no longer shown.
        referral_claim(referral_id=referral.pk, user=nurse)
        referral_contact(referral_id=referral.pk, user=nurse)
        referral_complete(referral_id=referral.pk, user=nurse, outcome="NEEDS_MET")
        content = changed()
        assert not _row(content, referral.pk) and _row(content, arrived.pk)


def _left_team_block(poll) -> str:
    """The block an open tab gets once its nurse has left the team: no rows, no more polling,
    the banner emptied, and no page drawn inside the page."""
    content = poll.content.decode()
    assert poll.status_code == 200
    assert 'data-testid="queue-left-team"' in content
    assert 'data-testid="queue-row"' not in content and "hx-trigger" not in content
    assert '<div id="urgent-alert" hx-swap-oob="innerHTML"></div>' in content
    assert "<header" not in content and "<html" not in content
    return content


def test_a_nurse_who_left_the_team_gets_no_rows_from_her_open_tab(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team, priority="P1")
    client.force_login(nurse)
    version = client.get(reverse("queue:team", args=[team.pk])).context["version"]
    TeamMembership.objects.filter(user=nurse, team=team).delete()
    queued(team)
    content = _left_team_block(_poll(client, team, version))
    assert not _row(content, referral.pk)
    assert "Ask a system administrator." in content
    # Loaded as a page, she is told she is in no team, as before.
    page = client.get(reverse("queue:team", args=[team.pk]))
    assert "You are not a member of a team yet" in page.content.decode()


def test_a_nurse_moved_to_another_team_is_sent_to_her_own_queue(
    client, make_user, team, django_assert_num_queries
):
    nurse = member(make_user, team, "nurse1")
    referral = queued(team)
    client.force_login(nurse)
    version = client.get(reverse("queue:team", args=[team.pk])).context["version"]
    TeamMembership.objects.filter(user=nurse, team=team).delete()
    TeamMembership.objects.create(user=nurse, team=TeamFactory())
    # Session, user and two-factor device, roles with permissions, her teams: nothing of the team's.
    with django_assert_num_queries(5):
        poll = _poll(client, team, version)
    content = _left_team_block(poll)
    assert not _row(content, referral.pk)
    assert f'href="{reverse("queue:mine")}">Open your team queue</a>' in content
    # The team's page itself is still not hers.
    assert client.get(reverse("queue:team", args=[team.pk])).status_code == 404


def test_a_full_page_logs_how_many_patients_its_rows_show(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    patient = PatientFactory()
    referrals = [queued(team, patient=patient), queued(team, patient=patient), queued(team)]
    client.force_login(nurse)
    content = client.get(reverse("queue:team", args=[team.pk])).content.decode()
    shown = AccessLog.objects.filter(object_type="team_queue").latest("pk")
    assert all(_row(content, r.pk) for r in referrals)
    assert (shown.action, shown.object_id, shown.detail) == (
        AccessLog.Action.LIST,
        str(team.pk),
        {"patients": 2},
    )


def _version(client, team) -> str:
    return client.get(reverse("queue:team", args=[team.pk])).context["version"]


def test_a_poll_after_the_patient_s_details_are_corrected_shows_them(client, make_user, team):
    nurse = member(make_user, team, "nurse1")
    patient = PatientFactory(family_name="Moss", given_name="Ann")
    referral = queued(team, patient=patient)
    client.force_login(nurse)
    version = _version(client, team)
    assert _poll(client, team, version).status_code == 204
    patient_update(
        patient=patient,
        data=PatientData(
            given_name="Siân",
            family_name="O'Brien",
            date_of_birth=patient.date_of_birth,
            nhs_number=patient.nhs_number or "",
            postcode=patient.postcode,
            nhs_number_status=patient.nhs_number_status,
        ),
        user=nurse,
    )
    poll = _poll(client, team, version)
    assert poll.status_code == 200
    assert "O&#x27;BRIEN, Siân" in _row(poll.content.decode(), referral.pk)
    assert poll.context["version"] != version
    # And the next poll, with the new version, has nothing new.
    assert _poll(client, team, poll.context["version"]).status_code == 204


def test_whom_a_referral_is_for_and_its_owner_s_name_changed_elsewhere_redraw_the_rows(
    client, make_user, team
):
    nurse = member(make_user, team, "nurse1")
    patient = PatientFactory()
    carer = RelatedPerson.objects.create(
        patient=patient,
        given_name="Jo",
        family_name="Smith",
        relationship="CHILD",
        created_at=timezone.now(),
    )
    referral = queued(team, patient=patient, for_person=carer)
    referral_claim(referral_id=referral.pk, user=nurse)
    client.force_login(nurse)
    version = _version(client, team)
    # Written as the admin or plain SQL would, past the hub's services.
    RelatedPerson.objects.filter(pk=carer.pk).update(family_name="Nguyễn")
    poll = _poll(client, team, version)
    assert poll.status_code == 200 and "NGUYỄN, Jo" in _row(poll.content.decode(), referral.pk)
    version = poll.context["version"]
    User.objects.filter(pk=nurse.pk).update(last_name="Okafor")
    poll = _poll(client, team, version)
    assert poll.status_code == 200 and "OKAFOR" in _row(poll.content.decode(), referral.pk)


def test_only_the_teams_of_the_person_s_referrals_and_only_shown_columns_change_versions(
    make_user, team
):
    other_team = TeamFactory()
    patient, stranger = PatientFactory(), PatientFactory()
    queued(team, patient=patient)
    queued(other_team, patient=stranger)
    nurse = member(make_user, team, "nurse1")

    def versions() -> dict[int, int]:
        return dict(QueueDetailsVersion.objects.values_list("team_id", "version"))

    before = versions()
    # A column no queue row shows, and a sign-in, change nothing.
    Patient.objects.filter(pk=patient.pk).update(phone="0151 496 0000")
    User.objects.filter(pk=nurse.pk).update(last_login=timezone.now())
    Patient.objects.filter(pk=patient.pk).update(family_name=F("family_name"))
    assert versions() == before
    Patient.objects.filter(pk=patient.pk).update(postcode="L1 8JQ")
    after = versions()
    assert set(after) == {team.pk} and after[team.pk] != before.get(team.pk)
    Patient.objects.filter(pk=patient.pk).update(postcode="L9 7AL")
    assert versions()[team.pk] > after[team.pk]
