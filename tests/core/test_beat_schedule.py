"""The periodic jobs (spoc/celery.py): the interop jobs, which run every few seconds and can
last longer than their period, expire before the next one is sent, so runs never pile up."""

from __future__ import annotations

import pytest

from spoc.celery import app

INTEROP = ("feed-outbox", "deliver-outbox", "feed-gp-letters")


@pytest.mark.parametrize("entry", INTEROP)
def test_an_interop_job_expires_before_its_next_run_is_sent(entry):
    job = app.conf.beat_schedule[entry]
    assert 0 < job["options"]["expires"] < job["schedule"]
