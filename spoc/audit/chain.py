"""The access log's hash chain, as plain Python (no ORM).

Each row stores ``row_hash = SHA-256(previous row's row_hash + "\\n" + SHA-256(canonical(row)))``
as 64 hex digits; the first row's "previous" is `GENESIS`. Changing a stored field, or removing or
inserting a row anywhere but at the end, breaks the link at that row or the one after it.

The row's own digest is taken apart from the link so that PostgreSQL can make the link inside the
INSERT (the trigger of migration audit/0005, with its built-in sha256()): the app sends the
digest, the database replaces it with the link under the chain's lock.

The canonical form is part of the stored data: rows written years ago are checked with it. Never
change `canonical` in place; a new form would need a new version prefix and a migration.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERSION = "v1"
# The "previous hash" of the very first row: 64 zeros.
GENESIS = "0" * 64

# The hashed fields, in this order (the row's id is not hashed: its place is fixed by the chain).
FIELDS = (
    "at",
    "user_id",
    "username",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "client_ip",
    "reason",
    "detail",
    "flagged",
)


def _ip(value: str | None) -> str | None:
    # The address's bytes, not its text: PostgreSQL's inet, SQLite's text and each Python version
    # may spell one IPv6 address differently.
    return ipaddress.ip_address(value).packed.hex() if value else None


def canonical(
    *,
    at: datetime,
    user_id: int | None,
    username: str,
    action: str,
    object_type: str,
    object_id: str,
    patient_id: int | None,
    client_ip: str | None,
    reason: str,
    detail: Any,
    flagged: bool,
) -> bytes:
    """The row's fields as one byte string, the same whether built before the insert or read
    back from PostgreSQL or SQLite. ``at`` must be aware; ``detail`` is anything JSON holds (it is
    taken as it reads back: tuples become lists, keys strings, key order does not count)."""
    if at.tzinfo is None:
        raise ValueError("the access log's time must be aware")
    values = [
        VERSION,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        user_id,
        username,
        action,
        object_type,
        object_id,
        patient_id,
        _ip(client_ip),
        reason,
        json.loads(json.dumps(detail)),
        bool(flagged),
    ]
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(row: bytes) -> str:
    """SHA-256 of a row's canonical form, in hex."""
    return hashlib.sha256(row).hexdigest()


def link(*, previous: str, digest: str) -> str:
    """The row's hash: SHA-256 over the previous row's hash, a newline and the row's digest."""
    return hashlib.sha256(f"{previous}\n{digest}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain: how many rows held, and the first that did not."""

    intact: int
    head: str
    broken_at: int | None = None
    after: int | None = None


def chain_check(
    rows: Iterable[tuple[int, str, Mapping[str, Any]]],
    *,
    previous: str = GENESIS,
    previous_id: int | None = None,
) -> ChainReport:
    """Walk ``(id, row_hash, fields)`` in id order and stop at the first row whose stored hash
    is not the one its fields and its predecessor give. ``after`` is the id of the last row that
    held (``previous_id`` at the start): a row removed between ``after`` and ``broken_at`` shows
    here. ``previous`` is the hash the first row links to: `GENESIS`, or the last hash of the rows
    archived before it."""
    intact = 0
    for row_id, stored, fields in rows:
        if stored != link(previous=previous, digest=digest(canonical(**fields))):
            return ChainReport(intact=intact, head=previous, broken_at=row_id, after=previous_id)
        previous, previous_id, intact = stored, row_id, intact + 1
    return ChainReport(intact=intact, head=previous)
