"""Local development and `make run`: DEBUG on, MFA optional, demo data allowed."""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
# The development tools (`seed_demo`, the demo data): here and in the test settings, never in
# production (docs/architecture.md, "Apps and layering").
INSTALLED_APPS = [*INSTALLED_APPS, "devtools"]
