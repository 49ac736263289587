"""Messages the hub could not deliver, on the coordinator board: listed with who they were for and
what went wrong, and sent again from there (docs/interop.md, "The referrer hears back")."""

from __future__ import annotations

import pytest
from django.urls import reverse

from referrals.models import OutboxMessage
from spoc.accounts.roles import Role
from tests.referrals.electronic import nhs_111, sent, undelivered

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("morning")]


@pytest.fixture
def failed():
    referral, _ = sent(nhs_111())
    return undelivered(referral, error="Timed out")


def test_the_board_lists_a_message_not_delivered_with_its_receiver_and_error(
    client, make_user, failed
):
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    board = client.get(reverse("board:board"))
    assert board.context["board"].undelivered_total == 1
    html = board.content.decode()
    section = html[html.index('data-testid="board-undelivered"') :]
    assert f"REF-{failed.referral_id:06d}" in section
    assert "NHS 111 North West (NLO01)" in section
    assert "Not accepted by the sender&#x27;s breach time" in section
    assert "8 tries: Timed out" in section
    assert reverse("board:outbox-resend", args=[failed.pk]) in section


def test_send_again_puts_the_message_back_in_line_and_says_so(client, make_user, failed):
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    response = client.post(reverse("board:outbox-resend", args=[failed.pk]), follow=True)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxMessage.Status.PENDING, 0)
    assert "it will be sent again within a minute" in response.content.decode()
    assert response.context["board"].undelivered_total == 0


def test_a_message_already_delivered_is_not_sent_again(client, make_user, failed):
    OutboxMessage.objects.filter(pk=failed.pk).update(
        status=OutboxMessage.Status.SENT, sent_at=failed.created_at
    )
    client.force_login(make_user(Role.SPOC_COORDINATOR))
    response = client.post(reverse("board:outbox-resend", args=[failed.pk]), follow=True)
    assert "This message was delivered already. Nothing was changed." in response.content.decode()
    failed.refresh_from_db()
    assert failed.status == OutboxMessage.Status.SENT


def test_only_coordinators_send_again(client, make_user, failed):
    client.force_login(make_user(Role.TEAM_LEAD))
    assert client.post(reverse("board:outbox-resend", args=[failed.pk])).status_code == 403
    failed.refresh_from_db()
    assert failed.status == OutboxMessage.Status.FAILED
