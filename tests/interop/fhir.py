"""Every body the FHIR API answers is read back with the fhir.resources models (the R4B package
of fhir.resources 8: docs/interop.md, "How the tests check conformance"), so a resource that
breaks the FHIR structure fails the test that produced it."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from interop.codes import FHIR_JSON, PROFILES

FHIR = "/fhir/R4/"


def fhir_valid(body: dict[str, Any]) -> Any:
    """The body parsed as the model its resourceType names (extra or misspelt elements, wrong
    types and missing required elements raise); a Bundle's entries are checked as part of it."""
    return get_fhir_model_class(body["resourceType"]).model_validate(body)


def resources_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A searchset Bundle's resources, each claiming its UK Core profile."""
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    resources = [entry["resource"] for entry in body.get("entry", [])]
    for resource in resources:
        assert resource["meta"]["profile"] == [PROFILES[resource["resourceType"]]]
    return resources


def fhir_get(
    client: Any,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    status: int = 200,
    **headers: Any,
) -> dict[str, Any]:
    """GET a path under /fhir/R4/, check the status and the FHIR JSON content type, and return the
    body once the fhir.resources models accept it."""
    response = client.get(FHIR + path, params or {}, **headers)
    return fhir_answer(response, status)


def fhir_answer(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].split(";")[0] in (FHIR_JSON, "application/json")
    body = response.json()
    fhir_valid(body)
    if status >= 400:
        assert body["resourceType"] == "OperationOutcome"
        assert body["issue"][0]["severity"] == "error"
    elif body["resourceType"] in PROFILES:
        assert body["meta"]["profile"] == [PROFILES[body["resourceType"]]]
    return body
