from __future__ import annotations

from celery import shared_task


@shared_task(name="rota.flag_gaps", ignore_result=True, soft_time_limit=50, time_limit=60)
def flag_gaps_task() -> None:
    """Record the gaps in cover ahead and email the teams' leads (``rota.services.rota_gaps_flag``)."""
    from rota.services import rota_gaps_flag

    rota_gaps_flag()
