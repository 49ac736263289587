"""The Celery app. Every periodic job is declared here, in one place, with why it runs when."""

import os

from celery import Celery, signals

from spoc.core.queues import QUEUES, queue_name

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spoc.settings.local")

app = Celery("spoc")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic jobs (docs/design.md §6, §8). Each entry says why it runs at that rate.
app.conf.beat_schedule = {
    # The consumption canaries (spoc/core/pipeline.py), one to each queue (spoc/core/queues.py):
    # /healthz calls a queue stalled when none was consumed from it for 90 s, so three sent in
    # that time; a tiny task, harmless to pile up, but one that waited over 80 s is dropped, as
    # its reading is already a failure. A queue added to QUEUES gets its canary here by itself.
    **{
        f"canary-{queue}": {
            "task": "core.canary",
            "schedule": 30.0,
            "args": (queue,),
            "options": {"queue": queue_name(queue), "expires": 80},
        }
        for queue in QUEUES
    },
    # A referral left awaiting routing (broker down at commit, a lost task) is re-enqueued once it
    # is ROUTING_SWEEP_AFTER_SECONDS old; sweeping twice as often keeps the worst delay near that.
    # A sweep still queued when the next is due is dropped (behind a backlog, sweeps would pile
    # up, each re-enqueueing the same referrals), and a sweep skips a referral enqueued within
    # ROUTING_REENQUEUE_AFTER_SECONDS (referrals/services/sweeper.py).
    "sweep-routing": {
        "task": "referrals.sweep_routing",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Clock milestones (accept-by, 75% and breach of contact-by) are minutes apart at P1; a
    # minute's delay in noticing one is the most the escalation adds (docs/design.md §6).
    "escalate": {"task": "referrals.escalate", "schedule": 60.0},
    # Urgent alerts (docs/operations.md, "Urgent alerts and acknowledgement"): the shortest
    # acknowledgement window is 5 minutes (P1), so walking the chains every 30 s passes an
    # unacknowledged alert on at most 10% late; the same run starts the chains nothing started
    # and sends again what Notify did not take. A run not started within its period is dropped,
    # since the next one does the same work.
    "walk-alert-chains": {
        "task": "alerts.walk_chains",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Digests of routine (P4-P5) referrals go at most hourly per team: looking every 5 minutes
    # tells the person on duty of a quiet hour's first referrals within 5 minutes of the hour.
    "alert-digests": {"task": "alerts.digest", "schedule": 300.0, "options": {"expires": 280}},
    # Dashboard summaries (docs/metrics.md): new rows reach the dashboards within about two
    # minutes (the safe horizon DASHBOARD_SAFE_HORIZON_SECONDS plus this period).
    "refresh-dashboard-summaries": {"task": "dashboards.refresh_summaries", "schedule": 60.0},
    # Response messages to referrers (docs/interop.md, "The referrer hears back"): a sender
    # waiting on a P1-P2 acceptance hears of it within about 20 s (feed, then delivery). A feed
    # run with nothing to do is two queries, bounded however long the hub has run: the events of
    # the last OUTBOX_EVENT_LOOKBACK_DAYS without a message (the index on the events' time), and
    # the partners' referrals unaccepted past their breach time; a delivery run, one.
    #
    # The interop jobs expire: a run still in the queue when its period is nearly over is
    # dropped, since the next one does the same work. A delivery run can last about 35 s (25 s
    # taking messages, then one more timeout), so without this, runs sent every 10 s pile up
    # behind a backlog and fill the worker slots that routing needs. Runs that do overlap are
    # harmless: a message is taken with SELECT ... FOR UPDATE SKIP LOCKED and a 90 s lease
    # committed before it is sent, and its attempt is recorded only by the run that took it
    # (referrals/services/outbox.py), so two runs never send the same message.
    "feed-outbox": {"task": "interop.outbox_feed", "schedule": 10.0, "options": {"expires": 9}},
    # Sends what is due and retries what failed (the first retry waits 15 s); a run takes new
    # messages for 25 s at most, so a hanging destination never keeps a worker longer than that.
    "deliver-outbox": {
        "task": "interop.outbox_deliver",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    # Letters to GP practices (docs/interop.md, "The GP hears back"): a practice reads them in
    # working hours, so a minute adds nothing; a run makes 50 of each kind at most (a letter's
    # PDF takes a few tenths of a second), well inside the time limit.
    "feed-gp-letters": {
        "task": "interop.gp_letters_feed",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Gaps in the duty rota (docs/operations.md "The duty rota"): the job looks
    # ROTA_GAP_LOOKAHEAD_HOURS (12) ahead, so a gap is found hours before it opens and five
    # minutes more delay nothing; a gap made by a change within the hour is told within five
    # minutes. A run is a few queries, whatever the number of teams and shifts.
    "flag-rota-gaps": {"task": "rota.flag_gaps", "schedule": 300.0, "options": {"expires": 290}},
    # Texts about overdue call-backs (docs/telephony.md, "Reminders"): a call-back is texted
    # about once it is CALL_BACK_REMIND_AFTER_MINUTES (15) overdue, so looking every minute
    # sends it within a minute of that; a run with nothing due is one query. A run not started
    # within its period is dropped, since the next one does the same work.
    "remind-overdue-call-backs": {
        "task": "calls.remind_overdue_call_backs",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Feedback texts and bereaved relatives' surveys (docs/operations.md, "Feedback texts"):
    # never urgent, so every 5 minutes; a run is one query when nothing is due, sends 20 at most
    # and is dropped if not started before the next.
    # Months of the access log past ACCESS_LOG_ONLINE_MONTHS, written to files and removed from
    # the table (docs/security.md, "Old months of the access log are archived"): once a day.
    "archive-access-log": {
        "task": "audit.archive_access_log",
        "schedule": 86400.0,
        "options": {"expires": 3600},
    },
    "send-feedback-texts": {
        "task": "experience.send_due",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
}


def _install_worker_heartbeat() -> None:
    from spoc.core.heartbeat import WorkerHeartbeat

    app.steps["worker"].add(WorkerHeartbeat)


_install_worker_heartbeat()


@signals.worker_process_init.connect
def _freeze_long_lived(**kwargs: object) -> None:
    """A pool process starts with the hub's models and tasks loaded: they leave the garbage
    collector's full collections (spoc/core/memory.py)."""
    from spoc.core.memory import freeze_long_lived

    freeze_long_lived()


@signals.beat_init.connect
def _beat_started(sender: object = None, **kwargs: object) -> None:
    from spoc.core.pipeline import BEAT, BEAT_STARTED, record_mark

    record_mark(BEAT_STARTED)
    record_mark(BEAT)


@signals.before_task_publish.connect
def _beat_mark(sender: str | None = None, **kwargs: object) -> None:
    """Beat's mark: recorded as beat sends the canary (only beat sends it), before the publish,
    so a broker fault shows as the broker's, not as a stopped beat."""
    from spoc.core.pipeline import BEAT, CANARY_TASK, record_mark

    if sender == CANARY_TASK:
        record_mark(BEAT)
