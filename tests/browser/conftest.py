import os

import pytest

# Django refuses database access from inside Playwright's event loop unless told it is safe
# (the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def live_url(live_server):
    return live_server.url
