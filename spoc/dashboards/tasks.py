"""The summary job as a Celery task (beat: every minute)."""

from __future__ import annotations

from celery import shared_task

from spoc.dashboards.services import summaries_refresh


@shared_task(name="dashboards.refresh_summaries", soft_time_limit=90, time_limit=120)
def refresh_summaries_task() -> dict[str, int]:
    result = summaries_refresh()
    return {
        "dates": result.dates,
        "deaths_patients": result.deaths_patients,
        "pending": result.pending,
        "skipped": int(result.skipped),
    }
