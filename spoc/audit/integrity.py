"""Reading the access log's hash chain back (spoc/audit/chain.py), for `verify_access_log`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from spoc.audit.archive import archive_chain_start
from spoc.audit.chain import FIELDS, ChainReport, chain_check
from spoc.audit.models import AccessLog


def _rows_in_id_order(
    *, batch_size: int, after: int = 0
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    # Keyset pages over the primary key: constant memory at millions of rows, each page one index
    # range scan, and no server-side cursor (which a transaction-pooling proxy would break).
    last_id = after
    while True:
        page = list(
            AccessLog.objects.filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "row_hash", *FIELDS)[:batch_size]
        )
        for row_id, stored, *values in page:
            yield row_id, stored, dict(zip(FIELDS, values, strict=True))
        if len(page) < batch_size:
            return
        last_id = page[-1][0]


def access_log_chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the whole chain in id order, from the last hash of the archived months (if any:
    spoc/audit/archive.py); the report says how many rows held and which row (if any) first did
    not. Rows appended while it runs are checked too."""
    previous, previous_id = archive_chain_start()
    return chain_check(
        _rows_in_id_order(batch_size=batch_size, after=previous_id or 0),
        previous=previous,
        previous_id=previous_id,
    )
