"""Local development and `make run`: DEBUG on, MFA optional, demo data allowed."""

import os

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env_bool, env_int

DEBUG = env_bool("DJANGO_DEBUG", True)
# The development tools (`seed_demo`, the demo data): here and in the test settings, never in
# production (docs/architecture.md, "Apps and layering").
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]

# Text messages go to the fake GOV.UK Notify that `runhub` starts beside the hub
# (devtools/fake_notify.py, http://127.0.0.1:8071/ shows what it was sent): its service id and
# secret, its templates and the bearer token it puts on its delivery receipts.
NOTIFY_API_KEY = os.environ.get(
    "NOTIFY_API_KEY",
    "spoc_local-5e4b7a44-7f0c-4a59-9d3e-3c2a1b0f9e87-0b8f6a4e-2d1c-4e5f-8a9b-7c6d5e4f3a21",
)
NOTIFY_BASE_URL = os.environ.get("NOTIFY_BASE_URL", "http://127.0.0.1:8071").rstrip("/")
NOTIFY_CALLBACK_TOKEN = os.environ.get("NOTIFY_CALLBACK_TOKEN", "local-notify-callback-token")
NOTIFY_TEMPLATES = {
    "ALERT": os.environ.get("NOTIFY_TEMPLATE_ALERT", "b3a6b5a4-1c1e-4a8e-9a57-0d4e2f6c1a01"),
    "REPEAT": os.environ.get("NOTIFY_TEMPLATE_REPEAT", "b3a6b5a4-1c1e-4a8e-9a57-0d4e2f6c1a02"),
    "DIGEST": os.environ.get("NOTIFY_TEMPLATE_DIGEST", "b3a6b5a4-1c1e-4a8e-9a57-0d4e2f6c1a03"),
    "CALL_BACK_OVERDUE": os.environ.get(
        "NOTIFY_TEMPLATE_CALL_BACK_OVERDUE", "b3a6b5a4-1c1e-4a8e-9a57-0d4e2f6c1a04"
    ),
    "FEEDBACK": os.environ.get("NOTIFY_TEMPLATE_FEEDBACK", "b3a6b5a4-1c1e-4a8e-9a57-0d4e2f6c1a05"),
    "BEREAVED_SURVEY": os.environ.get(
        "NOTIFY_TEMPLATE_BEREAVED_SURVEY", "b3a6b5a4-1c1e-4a8e-9a57-0d4e2f6c1a06"
    ),
}
# The demo's history is three months (devtools/demo/feedback.py): bereaved relatives' surveys go
# 28 days after a death here, so the dashboards show some answered.
BEREAVED_SURVEY_AFTER_DAYS = env_int("BEREAVED_SURVEY_AFTER_DAYS", 28)
# The fake phone's secret (devtools/fake_phone.py signs with the same default).
TELEPHONY_WEBHOOK_SECRET = os.environ.get("TELEPHONY_WEBHOOK_SECRET", "dev-telephony-secret")
TELEPHONY_TWILIO_AUTH_TOKEN = os.environ.get("TELEPHONY_TWILIO_AUTH_TOKEN", "dev-twilio-token")
TELEPHONY_LOOPBACK_RECORDINGS = env_bool("TELEPHONY_LOOPBACK_RECORDINGS", True)
