"""Sessions read through Redis (SESSION_KEPT_SECONDS, spoc/accounts/sessions.py): a page takes
its session from a real Redis, as in production, without a query; what is written reaches both
the database and the copy; signing out, a new password and an expired session end it as before;
a failing Redis costs one request its wait, and signing in, the pages and signing out go on from
the database."""

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.cache import caches
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from spoc.accounts.middleware import ACTIVITY_RECORD_SECONDS
from spoc.accounts.models import User
from spoc.accounts.roles import Role
from spoc.accounts.services import user_credentials_revoke
from spoc.accounts.sessions import GONE, SESSIONS_CACHE, SessionStore, kept_key
from tests.conftest import TEST_PASSWORD
from tests.locks import Racer, done_or_waiting_for_a_lock
from tests.redis_caches import failing_redis, redis_default_cache, suite_redis

pytestmark = pytest.mark.django_db

KEPT = 300


@pytest.fixture
def kept_in_redis():
    """SESSION_KEPT_SECONDS as in production, the default cache in the suite's Redis under a
    prefix of its own (emptied afterwards); yields that Redis and the prefix."""
    with suite_redis("sessions", SESSION_KEPT_SECONDS=KEPT) as kept:
        yield kept


def _kept_key(prefix: str, session_key: str) -> str:
    """The Redis key of a session kept by Django's Redis cache (version 1)."""
    return f"{prefix}:1:{kept_key(session_key)}"


def _session_reads(queries) -> int:
    return sum('FROM "django_session"' in query["sql"] for query in queries.captured_queries)


def sign_in(client: Client, username: str) -> None:
    answer = client.post(reverse("login"), {"username": username, "password": TEST_PASSWORD})
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_a_page_takes_its_session_from_redis_without_a_query(
    client, make_user, kept_in_redis, django_assert_num_queries
):
    server, prefix = kept_in_redis
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    # Signing in kept the session, for no longer than SESSION_KEPT_SECONDS, under a name that
    # does not give the cookie away.
    assert 0 < server.ttl(_kept_key(prefix, session_key)) <= KEPT
    assert not [key for key in server.scan_iter(f"{prefix}:*") if session_key.encode() in key]
    with override_settings(SESSION_KEPT_SECONDS=0), django_assert_num_queries(6) as read:
        assert client.get(reverse("home")).status_code == 200
    assert _session_reads(read) == 1
    with django_assert_num_queries(5) as kept:
        assert client.get(reverse("home")).status_code == 200
    assert _session_reads(kept) == 0


def test_what_a_request_writes_reaches_the_database_and_the_copy(kept_in_redis):
    store = SessionStore()
    store["note"] = "Siân O'Brien"
    store.save()
    store["note"] = "Nguyễn"
    store.save()
    with override_settings(SESSION_KEPT_SECONDS=0):
        assert SessionStore(store.session_key).load()["note"] == "Nguyễn"  # the database's
    assert SessionStore(store.session_key).load()["note"] == "Nguyễn"  # the copy's


def _note(session_key: str) -> tuple[str, str]:
    """The session's note as the database holds it, and as its copy does."""
    with override_settings(SESSION_KEPT_SECONDS=0):
        stored = SessionStore(session_key).load()["note"]
    return stored, caches["default"].get(kept_key(session_key))["note"]


@pytest.mark.django_db(transaction=True)
def test_two_requests_writing_one_session_leave_the_copy_as_the_database_has_it(
    kept_in_redis, monkeypatch
):
    """Request A has written the session's row and not yet its copy when request B writes both:
    B waits for A's row, so the copies are written in the rows' order and the copy ends as the
    database's last version (written without the row held, A's older copy would land last)."""
    first = SessionStore()
    first["note"] = "as signed in"
    first.save()
    session_key = first.session_key
    assert session_key is not None
    between, go_on = threading.Event(), threading.Event()
    keep = SessionStore._keep

    def held_before_its_copy(store, key, data, expiry_age, *, read):
        if not read and data["note"] == "A":
            between.set()
            go_on.wait(30)
        keep(store, key, data, expiry_age, read=read)

    monkeypatch.setattr(SessionStore, "_keep", held_before_its_copy)

    def write(note: str) -> Callable[[], None]:
        def writing() -> None:
            store = SessionStore(session_key)
            store["note"] = note
            store.save()

        return writing

    a = Racer(write("A"))
    a.start()
    assert between.wait(30)
    b = Racer(write("B"))
    b.start()
    done_or_waiting_for_a_lock(b)  # B has written both, or waits for A's row
    go_on.set()
    a.join(30)
    b.join(30)
    assert _note(session_key) == ("B", "B")


def test_a_session_read_from_the_database_is_kept_no_longer_than_it_lasts(kept_in_redis):
    server, prefix = kept_in_redis
    with override_settings(SESSION_KEPT_SECONDS=0):
        store = SessionStore()
        store["note"] = "kept"
        store.set_expiry(60)
        store.save()
    assert store.session_key is not None
    key = _kept_key(prefix, store.session_key)
    assert not server.exists(key)
    assert SessionStore(store.session_key).load()["note"] == "kept"
    assert 0 < server.ttl(key) <= 60


def test_signing_out_ends_the_kept_session(client, make_user, kept_in_redis):
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert caches["default"].get(kept_key(session_key)) == GONE
    _assert_refused(session_key)


def _assert_refused(session_key: str) -> None:
    """A copy of the signed-out cookie, sent by someone else, is refused."""
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = session_key
    answer = stolen.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_a_sign_out_ends_the_kept_session_even_while_its_process_rests(
    client, make_user, kept_in_redis
):
    """This process saw the cache fail a moment ago (and leaves it alone for reads), but Redis
    answers the other processes and nodes: the sign-out reaches it all the same."""
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("home")).status_code == 200
    SESSIONS_CACHE.pause.fault()
    try:
        assert client.post(reverse("logout")).status_code == 302
    finally:
        SESSIONS_CACHE.pause.clear()  # now as another process, which reaches the cache
    assert caches["default"].get(kept_key(session_key)) == GONE
    _assert_refused(session_key)


def test_a_token_asked_for_while_the_process_rests_is_revoked_by_a_sign_out_elsewhere(
    client, make_user, kept_in_redis
):
    """The session asks for an API token on a process that leaves the cache alone (the session's
    row is written, not its copy); a page on another process, a minute later, writes the session
    again from its older copy. Signing out revokes the token all the same: the token's row
    names the session."""
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    assert client.get(reverse("home")).status_code == 200  # the copy
    SESSIONS_CACHE.pause.fault()
    try:
        asked = client.post(
            "/api/v1/auth/token/",
            {"username": "handler1", "password": TEST_PASSWORD},
            content_type="application/json",
        )
    finally:
        SESSIONS_CACHE.pause.clear()  # now as another process, which reaches the cache
    assert asked.status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=ACTIVITY_RECORD_SECONDS + 1)):
        assert client.get(reverse("home")).status_code == 200  # records its activity
        assert client.post(reverse("logout")).status_code == 302
    api = Client(HTTP_AUTHORIZATION=f"Token {asked.json()['token']}")
    assert api.get("/api/v1/me/").status_code == 401


def test_a_read_that_began_before_a_sign_out_does_not_put_the_session_back(
    client, make_user, kept_in_redis, monkeypatch
):
    """A poll reads the session's row (its copy expired), the sign-out deletes the row meanwhile,
    then the poll keeps what it read: the sign-out's marker stays, and the cookie is refused."""
    server, prefix = kept_in_redis
    make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    server.delete(_kept_key(prefix, session_key))  # expired
    read = SessionStore._get_session_from_db  # type: ignore[attr-defined]

    def read_then_signed_out_elsewhere(store: SessionStore) -> Any:
        row = read(store)
        SessionStore(session_key).flush()  # signing out, in another process
        return row

    monkeypatch.setattr(SessionStore, "_get_session_from_db", read_then_signed_out_elsewhere)
    poll = Client()
    poll.cookies[settings.SESSION_COOKIE_NAME] = session_key
    assert poll.get(reverse("home")).status_code == 200  # it had read the row in time
    monkeypatch.undo()
    assert caches["default"].get(kept_key(session_key)) == GONE
    _assert_refused(session_key)


def test_a_new_password_ends_a_kept_session(client, make_user, kept_in_redis):
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    assert client.get(reverse("home")).status_code == 200
    user_credentials_revoke(user=handler, reason="Password changed")
    answer = client.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


def test_a_user_saved_as_read_before_their_sessions_were_ended_does_not_revive_them(
    client, make_user, kept_in_redis
):
    """Two admins at once: one ends the handler's sessions (a role change, say) while the
    other's form, read before it, saves her name. The save writes every column but her epochs,
    so the sessions stay ended."""
    handler = make_user(Role.CALL_HANDLER, username="handler1")
    sign_in(client, "handler1")
    assert client.get(reverse("home")).status_code == 200
    as_read = User.objects.get(pk=handler.pk)
    user_credentials_revoke(user=handler, reason="Roles changed")
    as_read.first_name = "Siân"
    as_read.save()
    assert User.objects.get(pk=handler.pk).credentials_epoch == handler.credentials_epoch
    answer = client.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("fault", ["stalled", "refused"])
def test_a_sessions_cache_that_fails_costs_one_request_and_the_database_answers(
    client, make_user, fault, caplog
):
    make_user(Role.CALL_HANDLER, username="handler1")
    with (
        failing_redis(fault) as stalled,
        override_settings(
            CACHES=redis_default_cache(stalled.location, "s"), SESSION_KEPT_SECONDS=KEPT
        ),
        caplog.at_level(logging.WARNING, logger="spoc.accounts.sessions"),
    ):
        sign_in(client, "handler1")
        pages = [client.get(reverse("home")) for _ in range(3)]
        signed_out = client.post(reverse("logout"))
        after = client.get(reverse("home"))
        offered = len(stalled.accepted)
    assert [page.status_code for page in pages] == [200, 200, 200]
    # Her own navigation: she was signed in, her session read from the database.
    assert all(reverse("calls:new") in page.content.decode() for page in pages)
    assert signed_out.status_code == 302
    assert after.status_code == 302 and after["Location"].startswith(reverse("login"))
    assert caplog.text.count("Sessions cache unreachable") == 1
    if fault == "stalled":
        # One connection at signing in; the cache then rests, and only the sign-out, which
        # must end the session's copy for every other process, tries it again.
        assert offered == 2
