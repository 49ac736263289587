"""The summary job runs in a real Celery worker and is safe to run twice."""

from __future__ import annotations

from typing import Any

import pytest

from spoc.accounts.roles import Role
from spoc.dashboards.models import CallHourStat, OpenReferral, ReferralDayStat
from spoc.dashboards.tasks import refresh_summaries_task
from tests.conftest import wait_for
from tests.dashboards.builders import call_at, local, referral_for
from tests.factories import TeamFactory


@pytest.mark.django_db(transaction=True)
def test_worker_refreshes_the_summaries(make_user: Any, start_celery_worker: Any) -> None:
    # A safe horizon of 0 in the worker, so one run reads everything committed.
    start_celery_worker(env={"DASHBOARD_SAFE_HORIZON_SECONDS": "0"})
    handler = make_user(Role.CALL_HANDLER, username="handler_worker")
    referral_for(call_at(local(2026, 3, 2, 9), user=handler), team=TeamFactory())
    refresh_summaries_task.delay()
    refresh_summaries_task.delay()
    wait_for(lambda: ReferralDayStat.objects.exists(), timeout=30)
    wait_for(lambda: OpenReferral.objects.count() == 1, timeout=30)
    assert CallHourStat.objects.get().calls == 1
    assert sum(r.referrals for r in ReferralDayStat.objects.filter(level=0)) == 1
