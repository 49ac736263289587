"""Accounts for scripts/security_probe.py, made in the hub's own database:

    python manage.py shell -v 0 < scripts/security_probe_setup.py > probe-accounts.json

A call handler, an auditor and a system admin, each with a password and a confirmed
authenticator (the base32 key is printed, so the probe can compute codes), the groups of every
role (to try adding them), and one fictional patient. Re-running gives the three accounts new passwords and keys.
Never run it on a hub holding real data: it prints credentials.
"""

import base64
import json
import secrets
from datetime import date

from django.contrib.auth.models import Group
from django_otp.plugins.otp_totp.models import TOTPDevice

from patients.codes import NhsNumberStatus
from patients.models import Patient
from patients.services import PatientData, patient_register
from spoc.accounts.models import User
from spoc.accounts.roles import Role, roles_sync

roles_sync()
accounts: dict[str, object] = {}
for name, role, staff in (
    ("probe-handler", Role.CALL_HANDLER, False),
    ("probe-auditor", Role.AUDITOR, False),
    ("probe-admin", Role.SYSTEM_ADMIN, True),
):
    password = secrets.token_urlsafe(18)
    user, _ = User.objects.update_or_create(
        username=name,
        defaults={
            "first_name": "Probe",
            "last_name": role.split()[-1],
            "is_staff": staff,
            "is_active": True,
            "is_superuser": False,
        },
    )
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    TOTPDevice.objects.filter(user=user).delete()
    key = secrets.token_bytes(20)
    TOTPDevice.objects.create(user=user, name="Authenticator app", key=key.hex(), confirmed=True)
    accounts[name.removeprefix("probe-")] = {
        "id": user.pk,
        "username": name,
        "password": password,
        "key": base64.b32encode(key).decode(),
    }
patient = Patient.objects.filter(family_name="Probe-O'Brien").first()
if patient is None:
    patient = patient_register(
        data=PatientData(
            given_name="Siân",
            family_name="Probe-O'Brien",
            date_of_birth=date(1948, 3, 14),
            postcode="L9 7AL",
            nhs_number_status=NhsNumberStatus.TRACE_REQUIRED,
        ),
        user=User.objects.get(username="probe-handler"),
        confirmed_not_duplicate=True,
    )
accounts["patient_id"] = patient.pk
accounts["group_ids"] = list(Group.objects.values_list("pk", flat=True))
print(json.dumps(accounts))
