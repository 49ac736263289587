"""A call-back is marked done with what happened: reached, no answer after its tries, number
unobtainable, no longer needed (docs/telephony.md, "Calling back")."""

from __future__ import annotations

import pytest

from calls.models import CallBack

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Select the call-back&#x27;s outcome."),
        ({"outcome": "SORTED"}, "Select the call-back&#x27;s outcome from the list."),
    ],
)
def test_a_call_back_is_not_marked_done_without_an_outcome(client, handler, missed, data, message):
    client.force_login(handler)
    response = client.post(f"/calls/call-backs/{missed.pk}/done/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "nhsuk-error-summary" in page
    missed.refresh_from_db()
    assert (missed.status, missed.outcome) == (CallBack.Status.PENDING, "")


def test_no_answer_after_its_tries_is_recorded_and_shown_on_the_missed_calls_list(
    client, handler, missed
):
    client.force_login(handler)
    for _ in range(2):
        client.post(f"/calls/call-backs/{missed.pk}/attempt/", {"outcome": "NO_ANSWER"})
    response = client.post(f"/calls/call-backs/{missed.pk}/done/", {"outcome": "NO_ANSWER"})
    assert response.status_code == 302
    missed.refresh_from_db()
    assert (missed.status, missed.outcome, missed.done_by) == ("DONE", "NO_ANSWER", handler)
    assert missed.outcome_text == "No answer after 2 tries"
    assert "Done (no answer after 2 tries)" in client.get("/calls/missed/").content.decode()


def test_the_outcome_is_shown_on_the_call_page(client, handler):
    from tests.referrals.factories import CallFactory

    call = CallFactory(handled_by=handler)
    call_back = CallBack.objects.create(call=call, patient=call.patient, due_at=call.received_at)
    client.force_login(handler)
    client.post(f"/calls/call-backs/{call_back.pk}/done/", {"outcome": "UNOBTAINABLE"})
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert "(done: number unobtainable)" in page


def test_an_outcome_already_given_is_left_as_it_is(client, handler, missed):
    client.force_login(handler)
    client.post(f"/calls/call-backs/{missed.pk}/done/", {"outcome": "NOT_NEEDED"})
    client.post(f"/calls/call-backs/{missed.pk}/done/", {"outcome": "REACHED"})
    missed.refresh_from_db()
    assert missed.outcome == "NOT_NEEDED"
