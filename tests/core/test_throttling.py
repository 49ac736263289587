"""API throttling: 429 with Retry-After and a JSON body past a rate, per user, per address for the
anonymous, tighter on patient search; counted in Redis when configured; never an error when the
cache is down."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from spoc.accounts.roles import Role
from tests.redis_caches import failing_redis, redis_default_cache, suite_redis

pytestmark = pytest.mark.django_db

RATES = {"user": "5/min", "anon": "3/min", "patient_search": "3/min"}


@pytest.fixture(autouse=True)
def low_rates(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # DRF reads the rates once, when rest_framework.throttling is imported.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", RATES)
    cache.clear()  # the test settings' in-memory cache: other tests' counts start afresh
    yield
    cache.clear()


def _search(client: Any) -> Any:
    return client.get(reverse("api-patients"), {"q": "Smith"})


def _assert_throttled(response: Any) -> None:
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "throttled"


def test_patient_search_past_its_rate_is_429_with_retry_after(client: Any, make_user: Any) -> None:
    client.force_login(make_user(Role.CALL_HANDLER, username="searcher"))
    assert [_search(client).status_code for _ in range(3)] == [200, 200, 200]
    _assert_throttled(_search(client))
    # The rest of the API keeps the wider per-user rate.
    assert client.get(reverse("api-me")).status_code == 200


def test_one_users_searches_do_not_throttle_another(client: Any, make_user: Any) -> None:
    client.force_login(make_user(Role.CALL_HANDLER, username="searcher"))
    for _ in range(3):
        _search(client)
    _assert_throttled(_search(client))
    client.force_login(make_user(Role.CALL_HANDLER, username="colleague"))
    assert _search(client).status_code == 200


def test_every_api_call_counts_against_the_users_rate(client: Any, make_user: Any) -> None:
    client.force_login(make_user(Role.CALL_HANDLER, username="busy"))
    assert [client.get(reverse("api-me")).status_code for _ in range(5)] == [200] * 5
    _assert_throttled(client.get(reverse("api-me")))


def test_anonymous_requests_are_counted_per_address_whatever_x_forwarded_for_says(
    client: Any,
) -> None:
    # A client writes X-Forwarded-For; with no trusted proxy it must not pick its own address.
    statuses = [
        client.post(
            reverse("api-token"),
            {"username": "nobody", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(3)
    ]
    assert 429 not in statuses
    _assert_throttled(
        client.post(
            reverse("api-token"),
            {"username": "nobody", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.99",
        )
    )


def test_counts_are_kept_in_redis_where_every_web_worker_sees_them(
    client: Any, make_user: Any
) -> None:
    user = make_user(Role.CALL_HANDLER, username="searcher")
    client.force_login(user)
    with suite_redis("throttle") as (server, prefix):
        for _ in range(3):
            _search(client)
        _assert_throttled(_search(client))
        # The count is in Redis (not in this process), with an expiry of the rate's period.
        key = f"{prefix}:1:throttle_patient_search_{user.pk}"
        assert 0 < server.ttl(key) <= 60


def test_an_unreachable_cache_lets_api_requests_through(
    client: Any, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(make_user(Role.CALL_HANDLER, username="searcher"))
    with (
        failing_redis("refused") as refused,
        override_settings(CACHES=redis_default_cache(refused.location, "throttle")),
        caplog.at_level(logging.WARNING, logger="spoc.core.throttles"),
    ):
        # Nothing listens on its port: every count fails, and the API still answers.
        assert [_search(client).status_code for _ in range(5)] == [200] * 5
    assert "the cache is unreachable" in caplog.text
