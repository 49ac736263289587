"""The access log's old months archived, as a Celery task (beat: once a day)."""

from __future__ import annotations

import logging

from celery import shared_task

from spoc.audit.archive import ArchiveError, access_log_archive_due

logger = logging.getLogger(__name__)


# A month of a busy hub is millions of rows: an hour is far more than writing one takes.
@shared_task(name="audit.archive_access_log", soft_time_limit=3300, time_limit=3600)
def archive_access_log_task() -> list[str]:
    """The months archived. Where the worker logs in as the app's role without the owner's
    DATABASE_MIGRATE_URL, it cannot delete from the access log: it says so and writes nothing."""
    try:
        done = access_log_archive_due()
    except ArchiveError as exc:
        logger.warning("access log not archived: %s", exc)
        return []
    return [f"{archive.month:%Y-%m}" for archive in done]
