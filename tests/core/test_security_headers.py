import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz/live", "/no-such-page/"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_unknown_url_gets_the_styled_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_error_reports_hide_query_strings_and_form_fields(rf):
    from spoc.core.errors import QueryStringHidingFilter

    request = rf.post("/patients/?q=9990000018", {"nhs_number": "9990000018"})
    report_filter = QueryStringHidingFilter()
    assert "9990000018" not in str(report_filter.get_post_parameters(request))
    assert "9990000018" not in str(report_filter.get_safe_request_meta(request))


def test_gunicorn_access_log_omits_query_strings():
    from tests.conftest import ROOT

    namespace: dict[str, object] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 (our own config file)
    log_format = str(namespace["access_log_format"])
    assert "%(U)s" in log_format
    assert "%(r)s" not in log_format and "%(q)s" not in log_format
