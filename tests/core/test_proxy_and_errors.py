import logging

import pytest
from django.db.utils import OperationalError
from django.test import override_settings
from django.urls import path

from spoc.audit.models import AccessLog
from tests.conftest import ROOT, TEST_PASSWORD

pytestmark = pytest.mark.django_db


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_proxy_the_client_address_is_the_last_forwarded_hop(client, handler):
    client.post(
        "/accounts/login/",
        {"username": "handler1", "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.7",
    )
    # The client wrote 203.0.113.9 itself; only the proxy's own entry is trusted.
    assert AccessLog.objects.get(action=AccessLog.Action.LOGIN).client_ip == "198.51.100.7"


def test_without_trusted_proxies_forwarded_headers_are_ignored(client, handler):
    client.post(
        "/accounts/login/",
        {"username": "handler1", "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert AccessLog.objects.get(action=AccessLog.Action.LOGIN).client_ip == "10.0.0.2"


def broken_view(request):  # type: ignore[no-untyped-def]
    raise OperationalError("database is down")


urlpatterns = [path("broken/", broken_view)]
handler500 = "spoc.core.views.server_error"


@override_settings(ROOT_URLCONF=__name__)
def test_server_error_page_needs_no_database_and_points_to_the_paper_fallback(client, handler):
    client.raise_request_exception = False
    client.force_login(handler)
    response = client.get("/broken/")
    assert response.status_code == 500
    assert b"paper fallback" in response.content


def test_gunicorn_error_log_hides_query_strings():
    namespace: dict[str, object] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 (our own config file)
    log_filter = namespace["_HideQueryStrings"]()  # type: ignore[operator]
    record = logging.LogRecord(
        "gunicorn.error",
        logging.ERROR,
        __file__,
        1,
        "Error handling request %s",
        ("/patients/?q=9990000018",),
        None,
    )
    assert log_filter.filter(record)
    assert "9990000018" not in record.getMessage()
    assert "/patients/?[query hidden]" in record.getMessage()
