"""One view serves a page and its htmx fragment (CONTRIBUTING.md, "Pages")."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page(
    request: HttpRequest, template: str, context: dict[str, Any], *, fragment: str
) -> HttpResponse:
    """``template`` whole, or only its partial ``fragment`` (django-template-partials) when htmx
    asks for it."""
    if request.headers.get("HX-Request"):
        template = f"{template}#{fragment}"
    return render(request, template, context)
