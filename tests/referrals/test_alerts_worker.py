"""An urgent alert through the real broker and a real worker process, to the fake GOV.UK Notify
on a free port: a P1 referral queued to a team texts the person on shift, and the text's
delivery receipt reaches the hub (docs/operations.md, "Urgent alerts and acknowledgement")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from devtools.fake_notify import Service, serve_in_thread
from referrals.models import Alert, ReferralEvent
from referrals.services.routing import referral_route
from rota.models import ShiftRole
from services.codes import ServiceType
from services.models import TeamMembership
from spoc.accounts.roles import Role
from tests.conftest import wait_for
from tests.referrals.factories import CallFactory, PatientFactory, ReferralFactory
from tests.rota.factories import extra
from tests.services.directory_fixtures import make_service

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

API_KEY = "spoc_worker-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
TEMPLATES = {
    "ALERT": "0b5c1c64-55a8-4d0a-9a3e-5c7a8f1e2d01",
    "REPEAT": "0b5c1c64-55a8-4d0a-9a3e-5c7a8f1e2d02",
    "DIGEST": "0b5c1c64-55a8-4d0a-9a3e-5c7a8f1e2d03",
}
TOKEN = "worker-callback-token-0123456789"
NURSE_PHONE = "+447700900181"


def test_a_p1_referral_texts_the_nurse_on_shift_through_the_worker(
    start_celery_worker, live_server, make_user, settings
):
    notify = Service.for_key(
        API_KEY,
        TEMPLATES,
        callback_url=live_server.url + reverse("alerts:notify-receipt"),
        callback_token=TOKEN,
        receipt_after_seconds=0.2,
    )
    server, url = serve_in_thread(notify)
    settings.NOTIFY_CALLBACK_TOKEN = TOKEN  # the live server's, for the receipt
    try:
        start_celery_worker(
            env={
                "NOTIFY_API_KEY": API_KEY,
                "NOTIFY_BASE_URL": url,
                "NOTIFY_TEMPLATE_ALERT": TEMPLATES["ALERT"],
                "NOTIFY_TEMPLATE_REPEAT": TEMPLATES["REPEAT"],
                "NOTIFY_TEMPLATE_DIGEST": TEMPLATES["DIGEST"],
            }
        )
        # Open around the clock and on shift from an hour ago: the answer does not depend on
        # when the test runs.
        team = make_service(
            "Community Palliative Care", ServiceType.COMMUNITY_SPC, open_24_7=True
        ).team
        make_service("SPOC Coordinators", ServiceType.SPOC, open_24_7=True, areas=())
        nurse = make_user(Role.SPECIALIST_NURSE, username="nurse", last_name="Pritchard")
        TeamMembership.objects.create(user=nurse, team=team)
        now = timezone.now()
        extra(
            team,
            nurse,
            now - timedelta(hours=1),
            now + timedelta(hours=1),
            role=ShiftRole.SPECIALIST_NURSE,
            phone=NURSE_PHONE,
        )
        referral = ReferralFactory(
            call=CallFactory(patient=PatientFactory(postcode="L9 7AL")), priority="P1"
        )
        referral_route(referral_id=referral.pk)  # enqueues alerts.start after commit

        delivered = wait_for(
            lambda: ReferralEvent.objects.filter(
                referral=referral, kind=ReferralEvent.Kind.ALERT_DELIVERED
            ).exists(),
            timeout=30,
        )
        assert delivered
        [message] = notify.all()
        assert (message.phone_number, message.template_kind) == (NURSE_PHONE, "ALERT")
        assert f"/alerts/{referral.pk}/" in message.body
        alert = Alert.objects.get(referral=referral)
        assert (str(alert.notify_id), alert.status, alert.recipient) == (
            message.id,
            "delivered",
            nurse,
        )
    finally:
        server.shutdown()
        server.server_close()
