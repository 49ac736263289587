"""A user's confirmed authenticators, as every request asks of them, kept between requests.

Every page of a signed-in user asks whether the session was verified with one of the user's
confirmed authenticators (django-otp's middleware: a query for the device) or, when it was not,
whether the user has one (``MFARequiredMiddleware``: a query). Here the persistent ids of the
user's confirmed devices are kept in the default cache for ROLES_KEPT_SECONDS, named by the
user's ``devices_epoch``, which every write of one of their devices raises in the writing
transaction (``devices_epoch_raise``, connected in spoc/accounts/apps.py): the next request of any
process or node, which reads the user's row anyway, reads them afresh. A cache that fails is left
alone for a while and the database answers.

Only the questions every request asks are answered from here. Enrolling, confirming, replacing
and resetting an authenticator, signing in, issuing API tokens and the health page's check of a
system admin read the devices from the database themselves (spoc/accounts/mfa.py,
spoc/accounts/views.py, spoc/accounts/tokens.py, spoc/core/health.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.middleware import OTPMiddleware
from django_otp.models import Device

from spoc.core.pauses import RestingCache

logger = logging.getLogger(__name__)

# Where a user's confirmed devices are kept: the default cache, under this name, the user's id
# and their devices epoch.
DEVICES_FORMAT = "devices-1"
DEVICES_CACHE = RestingCache(
    "default",
    logger=logger,
    message="Authenticators cache unreachable: authenticators read from the database for %s s.",
)
# Where one request keeps them on its user object.
CONFIRMED_IDS = "_confirmed_device_ids"


def _devices_key(user: Any) -> str:
    return f"{DEVICES_FORMAT}-{user.pk}-{user.devices_epoch}"


def _confirmed_ids_read(user: Any) -> frozenset[str]:
    return frozenset(device.persistent_id for device in devices_for_user(user, confirmed=True))


def confirmed_device_ids(user: Any) -> frozenset[str]:
    """The persistent ids of ``user``'s confirmed devices: once per request, and between requests
    from the cache while their devices epoch is the same (module docstring)."""
    kept: frozenset[str] | None = getattr(user, CONFIRMED_IDS, None)
    if kept is not None:
        return kept
    seconds = settings.ROLES_KEPT_SECONDS
    ids = DEVICES_CACHE.kept_or_read(
        _devices_key(user) if seconds else "",
        read=lambda: _confirmed_ids_read(user),
        timeout=seconds,
    )
    setattr(user, CONFIRMED_IDS, ids)
    return ids


def has_confirmed_device(user: Any) -> bool:
    """Whether ``user`` has a confirmed authenticator (django-otp's ``user_has_device(user,
    confirmed=True)``, from what is kept)."""
    return bool(confirmed_device_ids(user))


@dataclass(frozen=True)
class VerifiedDevice:
    """The confirmed device a session was verified with, by its persistent id and its user's
    (what django-otp's ``login`` reads of it): what ``user.otp_device`` holds between the
    middleware and a sign-in, which puts the device itself there. Whatever changes devices reads
    the device from the database."""

    persistent_id: str
    user_id: int


class KeptDevicesOTPMiddleware(OTPMiddleware):
    """django-otp's middleware (``user.otp_device``, ``user.is_verified()``), its question
    answered from the user's kept confirmed devices: a session verified with a device that is no
    longer one of them is not verified, and forgets it, as django-otp's own middleware does."""

    def _verify_user_sync(self, request: HttpRequest, user: Any) -> Any:
        self._init_user_fields(user)
        if user.is_authenticated:
            persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
            if persistent_id:
                persistent_id = self._normalize_persistent_id(persistent_id)
                if persistent_id in confirmed_device_ids(user):
                    user.otp_device = VerifiedDevice(persistent_id, user.pk)
                else:
                    del request.session[DEVICE_ID_SESSION_KEY]
        return user


# Where ``device_moving`` leaves, on the device being saved, the user it belonged to until then.
PREVIOUS_OWNER = "_devices_previous_owner"


def device_moving(sender: Any, instance: Device, **kwargs: Any) -> None:
    """A device about to be saved again, perhaps given to another user (the admin's change form
    can): the user it belongs to until then is noted, and loses it too once it is saved
    (Django's ``pre_save``; ``devices_epoch_raise`` raises both)."""
    if instance.pk is not None:
        owner = type(instance).objects.filter(pk=instance.pk).values_list("user_id", flat=True)
        setattr(instance, PREVIOUS_OWNER, owner.first())


def devices_epoch_raise(sender: Any, instance: Device, **kwargs: Any) -> None:
    """A device saved or deleted, whoever wrote it (enrolment, a code checked, the admin, a
    reset): its user's devices epoch, and its previous user's when it was moved, raised once
    the device's row is written, in the same transaction where there is one (Django's
    ``post_save`` and ``post_delete`` of every kind of device). Raised after the write, never
    before: a request that reads the user row meanwhile, and the devices after it, keeps newer
    devices under the old epoch, which nothing reads once it is raised, and the device's row is
    always locked before its user's."""
    owners = {instance.user_id, getattr(instance, PREVIOUS_OWNER, None)} - {None}
    if owners:
        get_user_model().objects.filter(pk__in=owners).update(devices_epoch=F("devices_epoch") + 1)
