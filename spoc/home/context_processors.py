from typing import Any

from django.http import HttpRequest

from spoc.accounts.roles import roles_of
from spoc.home.navigation import navigation_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": []}
    return {"nav_items": navigation_for(user), "user_roles": roles_of(user)}
