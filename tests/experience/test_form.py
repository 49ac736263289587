"""The public feedback form (docs/security.md, "The feedback form"): no sign-in, one answer per
link, the same page for a used, expired or unknown link, nothing about the patient, bad input
refused with a message, CSRF and a rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from experience.forms import FFT_QUESTION, FFT_WHY
from experience.models import Answer, Invitation
from experience.services import invitations_send_due

pytestmark = pytest.mark.django_db
CLOSED = "This link cannot be used"


@pytest.fixture(autouse=True)
def _no_counts_carried_over():
    cache.clear()


def _sent(care, texts, to="patient"):
    invitation = care.completed(to)
    invitations_send_due()
    link = texts[-1].personalisation["link"]
    return invitation, "/" + link.split("/", 3)[3]


def _main(response) -> str:
    """The page's main content (the rest carries the session's own CSRF token)."""
    content = response.content.decode()
    return content[content.index("<main") : content.index("</main>")]


def _identifiers(care) -> list[str]:
    patient = care.patient
    number = patient.nhs_number
    return [
        patient.given_name,
        patient.family_name,
        number,
        f"{number[:3]} {number[3:6]} {number[6:]}",
        patient.postcode,
        patient.postcode.replace(" ", ""),
        care.daughter.family_name,
        "07700",
        care.team.name,
    ]


def test_the_form_asks_the_fft_question_and_shows_nothing_about_the_patient(client, care, texts):
    _, url = _sent(care, texts)
    response = client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert FFT_QUESTION in content and FFT_WHY in content
    for answer in (
        "Very good",
        "Good",
        "Neither good nor poor",
        "Poor",
        "Very poor",
        "Don&#x27;t know",
    ):
        assert answer in content
    for identifier in _identifiers(care):
        assert identifier.lower() not in content.lower(), identifier
    assert response["Cache-Control"].startswith("max-age=0")


def test_an_answer_is_taken_once_and_the_link_then_refused(client, care, texts, morning):
    invitation, url = _sent(care, texts)
    morning.shift(timedelta(minutes=5))
    response = client.post(url, {"rating": "VERY_GOOD", "why": "Kind and quick."})
    assert response.status_code == 302 and response["Location"] == reverse("feedback:thanks")
    assert "Thank you" in client.get(response["Location"]).content.decode()
    answer = Answer.objects.get()
    assert (answer.kind, answer.team_id, answer.rating, answer.why) == (
        "FFT",
        care.team.pk,
        "VERY_GOOD",
        "Kind and quick.",
    )
    assert answer.received_at == timezone.now()
    again = client.post(url, {"rating": "VERY_POOR", "why": "Second go"})
    assert again.status_code == 404 and CLOSED in again.content.decode()
    assert client.get(url).status_code == 404
    assert Answer.objects.count() == 1
    invitation.refresh_from_db()
    assert invitation.answered_at is not None


def test_expired_unknown_and_used_links_get_the_same_page(client, care, texts, morning, settings):
    _, used = _sent(care, texts)
    client.post(used, {"rating": "GOOD"})
    _, expiring = _sent(care, texts, to=f"person-{care.daughter.pk}")
    morning.shift(timedelta(days=settings.FEEDBACK_LINK_DAYS, seconds=1))
    pages = [
        client.get(url)
        for url in (
            used,
            expiring,
            reverse("feedback:form", args=["x" * 43]),
            reverse("feedback:form", args=["y" * 500]),
        )
    ]
    assert {p.status_code for p in pages} == {404}
    assert len({_main(p) for p in pages}) == 1
    assert CLOSED in pages[0].content.decode()
    assert client.post(expiring, {"rating": "GOOD"}).status_code == 404
    assert Answer.objects.count() == 1


def test_bad_input_is_refused_with_a_message_and_loses_nothing(client, care, texts):
    _, url = _sent(care, texts)
    typed = "Siân was <script>alert('x')</script> lovely " * 100
    response = client.post(url, {"rating": "", "why": typed})
    assert response.status_code == 400
    content = response.content.decode()
    assert "There is a problem" in content and "Choose one answer" in content
    assert "<script>alert" not in content and "&lt;script&gt;" in content
    assert "characters or fewer" in content  # 4,400 characters: over the 2,000
    assert not Answer.objects.exists()
    script = "<script>alert('x')</script> O'Brien, Nguyễn"
    assert client.post(url, {"rating": "NOT_AN_ANSWER", "why": script}).status_code == 400
    assert client.post(url, {"rating": "POOR", "why": script}).status_code == 302
    assert Answer.objects.get().why == script  # kept as typed, shown escaped


def test_the_form_needs_its_csrf_token(care, texts):
    _, url = _sent(care, texts)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url, {"rating": "GOOD"}).status_code == 403
    assert not Answer.objects.exists()
    page = strict.get(url)
    token = page.cookies["csrftoken"].value
    answered = strict.post(url, {"rating": "GOOD", "csrfmiddlewaretoken": token})
    assert answered.status_code == 302


def test_too_many_requests_from_one_address_are_refused(client, care, texts, settings):
    settings.FEEDBACK_FORM_RATE = "3/hour"
    _, url = _sent(care, texts)
    unknown = reverse("feedback:form", args=["z" * 43])
    assert [client.get(unknown).status_code for _ in range(3)] == [404, 404, 404]
    refused = client.get(url)
    assert refused.status_code == 429 and "Please try again later" in refused.content.decode()
    other = Client(REMOTE_ADDR="192.0.2.44")
    assert other.get(url).status_code == 200


def test_the_survey_asks_its_questions_and_records_them(client, care, texts, morning):
    care.patient.died_at = timezone.now() - timedelta(days=1)
    care.patient.save()
    survey = care.completed(f"person-{care.daughter.pk}")
    morning.move_to(survey.due_at)
    invitations_send_due()
    url = "/" + texts[-1].personalisation["link"].split("/", 3)[3]
    content = client.get(url).content.decode()
    assert "Do you feel they died where they wanted to?" in content
    for identifier in _identifiers(care):
        assert identifier.lower() not in content.lower(), identifier
    response = client.post(
        url,
        {"rating": "GOOD", "died_where_wanted": "YES", "family_support": "SOME", "why": ""},
    )
    assert response.status_code == 302
    answer = Answer.objects.get()
    assert (answer.kind, answer.died_where_wanted, answer.family_support) == (
        "BEREAVED",
        "YES",
        "SOME",
    )
    assert Invitation.objects.get().answered_at is not None
