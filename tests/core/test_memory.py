"""Long-lived objects out of the garbage collector's full collections (spoc/core/memory.py): a
web worker freezes them once the hub is loaded and again after its first requests; a Celery pool
process once it starts."""

from __future__ import annotations

import gc
from types import SimpleNamespace
from typing import Any

import pytest
from celery import signals

from spoc.celery import _freeze_long_lived
from spoc.core import memory
from spoc.core.memory import WARM_REQUESTS
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


def gunicorn_hooks() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102 (our own config file)
    return namespace


def test_a_web_worker_freezes_the_hub_once_loaded_with_every_view_imported(monkeypatch):
    read: list[str] = []

    class Resolver:
        @property
        def url_patterns(self) -> list[object]:
            read.append("url_patterns")  # what imports every view module
            return []

    monkeypatch.setattr(memory, "get_resolver", Resolver)

    gunicorn_hooks()["post_worker_init"](SimpleNamespace(nr=0))

    assert read == ["url_patterns"]
    assert gc.get_freeze_count() > 10_000


def collected(obj: object) -> bool:
    """Whether the garbage collector still walks ``obj`` (a frozen object is not among them)."""
    return any(tracked is obj for tracked in gc.get_objects())


def test_a_web_worker_freezes_again_once_only_after_its_first_requests():
    hooks = gunicorn_hooks()
    hooks["post_worker_init"](SimpleNamespace(nr=0))
    # What the first requests leave behind for the worker's life: compiled templates, caches.
    kept = [[n] for n in range(1_000)]

    for nr in range(1, WARM_REQUESTS):
        hooks["post_request"](SimpleNamespace(nr=nr), None, None, None)
    assert collected(kept)

    hooks["post_request"](SimpleNamespace(nr=WARM_REQUESTS), None, None, None)
    assert not collected(kept)

    later = [[n] for n in range(1_000)]
    hooks["post_request"](SimpleNamespace(nr=WARM_REQUESTS + 1), None, None, None)
    assert collected(later)


def test_a_celery_pool_process_freezes_the_hub_as_it_starts():
    connected = [ref() for _, ref in signals.worker_process_init.receivers]
    assert _freeze_long_lived in connected

    _freeze_long_lived()

    assert gc.get_freeze_count() > 10_000
