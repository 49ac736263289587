"""Checks of the identifiers and addresses other NHS systems are known by: ODS codes and the
endpoints the hub sends messages to (partner systems, GP practices)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# ODS codes: organisations (RTH, A81001), sites and branches (RTH08, Y02345): letters and digits.
ODS_CODE = re.compile(r"^[A-Z0-9]{3,10}$")
ENDPOINT_MAX = 500
# The hosts of this computer: the fake partner (devtools) and the tests' servers listen there, and
# a message to them never crosses a network, so plain http is allowed for them and only them.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# What a partner or practice is told when its endpoint is refused.
ENDPOINT_RULE = "a full https address (http only for localhost, 127.0.0.1 or ::1)"


def is_ods_code(text: str) -> bool:
    """``text`` (already upper-cased) has the shape of an ODS code."""
    return bool(ODS_CODE.match(text))


def is_endpoint(text: str) -> bool:
    """``text`` is a full https address the hub could send a message to, or an http one on this
    computer (LOOPBACK_HOSTS). The messages carry patients' details (a GP letter has the NHS
    number, name, date of birth and a clinical summary), so they never cross a network in clear."""
    if len(text) > ENDPOINT_MAX:
        return False
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:  # an unbalanced "[" in the host, a bad port
        return False
    if not host:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS)
