"""A process leaving an outside service alone for a while after it failed: the broker when
routing is enqueued (referrals/services/enqueue.py), the cache that keeps team queues' rows
(referrals/selectors/queue.py). A stalled Redis then makes one request of the process wait its
socket timeout, not every request, and the work goes the other way meanwhile (the sweeper, the
database)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass
class FaultPause:
    """When this process last saw the service fail (``time.monotonic()``), None since it last
    answered."""

    at: float | None = None

    def fault(self) -> None:
        self.at = time.monotonic()

    def clear(self) -> None:
        self.at = None

    def active(self, seconds: float) -> bool:
        """Whether the last fault is less than ``seconds`` old."""
        return self.at is not None and time.monotonic() - self.at < seconds
