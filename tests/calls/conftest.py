"""The urgent alerts' fixtures (tests/referrals/alerting.py), for the texts about overdue
call-backs, and the fake Notify on a free port (tests/referrals/test_notify_contract.py)."""

from tests.referrals.alerting import alert_area, duty_rota  # noqa: F401 (fixtures)
from tests.referrals.test_notify_contract import notify  # noqa: F401 (fixture)
