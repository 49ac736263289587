"""The addresses the hub sends patients' details to (spoc/core/identifiers.py)."""

from __future__ import annotations

import pytest

from spoc.core.identifiers import is_endpoint


@pytest.mark.parametrize(
    "address",
    [
        "https://gp.example.nhs.uk/fhir/R4/$process-message",
        "HTTPS://gp.example.nhs.uk:8443/bars",
        "http://127.0.0.1:8070/111/fhir/R4/$process-message",
        "http://localhost:8070/gp/Y01234/fhir/R4/$process-message",
        "http://[::1]:8070/bars",
    ],
)
def test_https_and_http_on_this_computer_are_endpoints(address):
    assert is_endpoint(address)


@pytest.mark.parametrize(
    "address",
    [
        "http://gp.example.nhs.uk/fhir/R4/$process-message",
        "http://10.0.0.7/bars",
        "http://127.0.0.2/bars",
        "http://localhost.example.com/bars",
        "ftp://gp.example.nhs.uk/bars",
        "javascript:alert(1)",
        "https:///no-host",
        "https://[::1/bad",
        "https://gp.example.nhs.uk/" + "x" * 500,
    ],
)
def test_plain_http_elsewhere_and_other_addresses_are_refused(address):
    assert not is_endpoint(address)
