"""A user's confirmed authenticators kept between requests (ROLES_KEPT_SECONDS,
spoc/accounts/devices.py): a verified session's next page takes them from a real Redis, as in
production, without the query for its device; a session not verified is still asked for its
code; a device confirmed, replaced, removed or given to another user, by any path, is seen at the
very next request; a failing Redis leaves the database to answer."""

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest
from django.contrib import auth
from django.db import connection, transaction
from django.db.models.signals import pre_save
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from spoc.accounts import mfa
from spoc.accounts.devices import VerifiedDevice
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from spoc.urls import urlpatterns
from tests.accounts.test_mfa import code_for
from tests.conftest import TEST_PASSWORD
from tests.locks import Racer, done_or_waiting_for_a_lock
from tests.redis_caches import failing_redis, kept_as_in_production, redis_default_cache

pytestmark = pytest.mark.django_db

VERIFY = reverse("mfa-verify")


@pytest.fixture
def kept_in_redis():
    with kept_as_in_production("devices") as kept:
        yield kept


def _device_reads(queries) -> int:
    return sum('FROM "otp_totp_totpdevice"' in q["sql"] for q in queries.captured_queries)


def verified(client: Client, user: User) -> TOTPDevice:
    """``user`` signed in with the password and a code from a new confirmed device."""
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    answer = client.post(VERIFY, {"token": code_for(device), "next": "/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    return device


def test_a_verified_page_takes_the_device_from_redis_without_a_query(
    client, make_user, kept_in_redis, django_assert_num_queries
):
    verified(client, make_user(Role.CALL_HANDLER, username="handler1"))
    with override_settings(ROLES_KEPT_SECONDS=0), django_assert_num_queries(5) as read:
        assert client.get(reverse("home")).status_code == 200
    assert _device_reads(read) == 1
    client.get(reverse("home"))  # keeps them, and the roles
    with django_assert_num_queries(3) as kept:
        assert client.get(reverse("home")).status_code == 200
    assert _device_reads(kept) == 0


def test_a_session_not_verified_is_asked_for_its_code_on_every_page(
    client, make_user, kept_in_redis
):
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    for _ in range(3):  # read, then kept
        answer = client.get(reverse("home"))
        assert answer.status_code == 302 and answer["Location"].startswith(VERIFY)
    api = client.get("/api/v1/referrals/")
    assert api.status_code in (401, 403)


@pytest.mark.parametrize("how", ["replaced", "deleted", "queryset", "unconfirmed"])
def test_a_device_changed_elsewhere_is_seen_at_the_next_request(
    client, make_user, kept_in_redis, settings, how
):
    """The session was verified with a device that another session replaced, or that was
    removed, by any path: its next page asks for a code again."""
    settings.MFA_REQUIRED = True
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    device = verified(client, handler)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("home")).status_code == 200  # from what is kept
    if how == "replaced":
        TOTPDevice.objects.create(user=handler, name="new phone", confirmed=True)
        device.delete()
    elif how == "deleted":
        device.delete()
    elif how == "queryset":
        TOTPDevice.objects.filter(user=handler).delete()
    else:
        device.confirmed = False
        device.save()
    answer = client.get(reverse("home"))
    assert answer.status_code == 302
    assert answer["Location"].startswith(VERIFY if how == "replaced" else reverse("mfa-enrol"))
    assert DEVICE_ID_SESSION_KEY not in client.session


def test_a_first_device_confirmed_elsewhere_asks_a_session_without_one_for_its_code(
    client, make_user, kept_in_redis
):
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    client.post(reverse("login"), {"username": "handler1", "password": TEST_PASSWORD})
    assert client.get(reverse("home")).status_code == 200  # no device, none required here
    assert client.get(reverse("home")).status_code == 200  # from what is kept
    TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    answer = client.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"].startswith(VERIFY)


def test_a_device_given_to_another_user_leaves_the_first(client, make_user, kept_in_redis):
    """The admin's change form can move a device to another user: the session verified with it
    is verified no longer, and the new owner's other session is asked for the code."""
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    device = verified(client, handler)
    other = Client()
    other.post(reverse("login"), {"username": "nurse1", "password": TEST_PASSWORD})
    for browser in (client, other, client, other):  # read, then kept
        assert browser.get(reverse("home")).status_code == 200
    device.user = nurse
    device.save()
    assert client.get(reverse("home")).status_code == 200  # no device left: none required here
    assert DEVICE_ID_SESSION_KEY not in client.session
    answer = other.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"].startswith(VERIFY)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_a_transaction", [False, True])
def test_a_request_between_a_device_and_its_move_does_not_keep_the_first_user_verified(
    client, make_user, kept_in_redis, settings, in_a_transaction
):
    """A page of the first user's session, on another connection, while the device is being
    given to another user (after Django's ``pre_save``, before its row is written; in a script's
    autocommit or in the admin's transaction): her next page is no longer verified."""
    settings.MFA_REQUIRED = True
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    nurse = make_user(Role.SPECIALIST_NURSE, username="nurse1")
    device = verified(client, handler)
    assert client.get(reverse("home")).status_code == 200
    meanwhile: list[int] = []

    def page_of_the_same_session() -> None:
        other = Client()
        other.cookies = client.cookies
        meanwhile.append(other.get(reverse("home")).status_code)
        connection.close()

    def between(sender, instance, **kwargs) -> None:
        page = threading.Thread(target=page_of_the_same_session)
        page.start()
        page.join(30)

    pre_save.connect(between, sender=TOTPDevice, dispatch_uid="devices-test-between")
    try:
        device.user = nurse
        with transaction.atomic() if in_a_transaction else nullcontext():
            device.save()
    finally:
        pre_save.disconnect(sender=TOTPDevice, dispatch_uid="devices-test-between")
    assert meanwhile == [200]
    answer = client.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"] == reverse("mfa-enrol")


def race_a_code_check(user: User, device: TOTPDevice, other: Callable[[], Any]) -> Racer:
    """A wrong code of ``user`` checked in one thread, held once it has read the devices, when
    it comes to ``device``; ``other`` run in another thread meanwhile, until it is done or waits
    for a row the check holds; then the check goes on. Returns the thread of ``other``, ended,
    having asserted that the check raised nothing."""
    read, go_on = threading.Event(), threading.Event()
    check = TOTPDevice.verify_token

    def held(checked: TOTPDevice, token: str) -> bool:
        if checked.pk == device.pk:
            read.set()
            go_on.wait(30)
        return check(checked, token)

    TOTPDevice.verify_token = held  # type: ignore[method-assign]
    try:
        checking = Racer(lambda: mfa.totp_verify(user=user, token="000000"))
        checking.start()
        assert read.wait(30)
        racing = Racer(other)
        racing.start()
        done_or_waiting_for_a_lock(racing)
        go_on.set()
        checking.join(30)
        racing.join(30)
    finally:
        TOTPDevice.verify_token = check  # type: ignore[method-assign]
    assert checking.error is None
    return racing


@pytest.mark.django_db(transaction=True)
def test_a_code_checked_while_a_reset_removes_the_device_does_not_bring_it_back(make_user):
    """The code check has read the devices when a system admin resets them: the reset waits for
    the check, then removes the device; the check's counters never write it back."""
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    admin = make_user(Role.SYSTEM_ADMIN, username="admin1")
    device = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    resetting = race_a_code_check(
        handler,
        device,
        lambda: mfa.mfa_reset(user=handler, by=admin, reason="Phone lost on a visit"),
    )
    assert resetting.error is None
    assert not TOTPDevice.objects.filter(user=handler).exists()


@pytest.mark.django_db(transaction=True)
def test_a_code_checked_while_a_new_device_is_confirmed_waits_its_turn(make_user):
    """Another session checks a code of the old device (its devices read) while the user
    confirms a new one, which replaces it: the two take the devices in turn, and neither fails
    on a deadlock."""
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    old = TOTPDevice.objects.create(user=handler, name="phone", confirmed=True)
    verified_with = VerifiedDevice(old.persistent_id, handler.pk)
    new = mfa.totp_device_pending(user=handler, verified_device=verified_with, pending_id=None)
    confirming = race_a_code_check(
        handler,
        old,
        lambda: mfa.totp_confirm(
            user=handler, token=code_for(new), verified_device=verified_with, pending_id=new.pk
        ),
    )
    assert confirming.error is None
    assert list(TOTPDevice.objects.filter(user=handler).values_list("pk", "confirmed")) == [
        (new.pk, True)
    ]


def _signs_in_again(request):
    """A view that signs its own user in again (a step-up of a later release)."""
    auth.login(request, request.user, backend="spoc.accounts.backends.RoleBackend")
    return HttpResponse("signed in again")


urlpatterns = [path("again/", _signs_in_again), *urlpatterns]


@pytest.mark.urls(__name__)
def test_a_verified_session_signed_in_again_stays_verified(client, make_user, kept_in_redis):
    """django-otp's own sign-in receiver takes the kept device as it takes a device."""
    verified(client, make_user(Role.CALL_HANDLER, username="handler1"))
    assert client.get("/again/").status_code == 200
    assert DEVICE_ID_SESSION_KEY in client.session
    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize("fault", ["stalled", "refused"])
def test_a_failing_cache_leaves_the_database_to_answer(client, make_user, caplog, fault):
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    verified(client, handler)
    with (
        failing_redis(fault) as stalled,
        override_settings(
            CACHES=redis_default_cache(stalled.location, "d"),
            ROLES_KEPT_SECONDS=600,
            SESSION_KEPT_SECONDS=300,
        ),
        caplog.at_level(logging.WARNING),
    ):
        pages = [client.get(reverse("home")).status_code for _ in range(3)]
        TOTPDevice.objects.filter(user=handler).delete()
        after = client.get(reverse("home"))
    assert pages == [200, 200, 200]
    assert after.status_code == 200 and DEVICE_ID_SESSION_KEY not in client.session
    assert caplog.text.count("unreachable") == 1
