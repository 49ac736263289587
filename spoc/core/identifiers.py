"""Checks of the identifiers and addresses other NHS systems are known by: ODS codes and the
endpoints the hub sends messages to (partner systems, GP practices)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

# ODS codes: organisations (RTH, A81001), sites and branches (RTH08, Y02345): letters and digits.
ODS_CODE = re.compile(r"^[A-Z0-9]{3,10}$")
ENDPOINT_MAX = 500


def is_ods_code(text: str) -> bool:
    """``text`` (already upper-cased) has the shape of an ODS code."""
    return bool(ODS_CODE.match(text))


def is_endpoint(text: str) -> bool:
    """``text`` is a full http or https address the hub could send a message to."""
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(text) <= ENDPOINT_MAX
