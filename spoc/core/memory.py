"""Objects that live as long as the process, out of the garbage collector's sight
(docs/performance.md, "Garbage-collection pauses").

A web or Celery worker holds some 150,000-190,000 objects for its whole life: Django's settings,
models, URL patterns and views, compiled templates, the code lists. Python's collector walks every
one of them in each full collection, which it runs once the objects created since the last one
outnumber a quarter of those it already holds: every few dozen pages, a pause of a tenth of a second
or more in the middle of somebody's request. ``gc.freeze`` moves the objects held at that moment
into a permanent generation that no collection walks; objects created afterwards are collected as
before."""

from __future__ import annotations

import gc

from django.urls import get_resolver

# A web worker freezes again once it has answered this many requests: the templates they compiled
# and the caches they filled live as long as it does.
WARM_REQUESTS = 100


def freeze_long_lived(*, load_views: bool = False) -> None:
    """Collect what is garbage now, then freeze every object left. With ``load_views``, import
    every view first (the URL patterns), as a web worker would on its first requests."""
    if load_views:
        get_resolver().url_patterns  # noqa: B018 (read for its imports)
    gc.collect()
    gc.freeze()
