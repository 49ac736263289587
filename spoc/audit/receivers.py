"""Sign-in events go to the access log (who, when, from where)."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from spoc.audit.models import AccessLog
from spoc.audit.services import access_log_record


@receiver(user_logged_in, dispatch_uid="audit.login")
def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    access_log_record(action=AccessLog.Action.LOGIN, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit.logout")
def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        access_log_record(action=AccessLog.Action.LOGOUT, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit.login_failed")
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    access_log_record(
        action=AccessLog.Action.LOGIN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
    )
