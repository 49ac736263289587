"""How passwords are stored: Argon2id at the cost OWASP's Password Storage Cheat Sheet asks for
(docs/security.md, "Passwords")."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with 19 MiB of memory, 2 passes and 1 lane: OWASP's first recommendation.

    Django's own defaults (100 MiB, 8 lanes) cost each sign-in far more memory than a gunicorn
    worker should hold per request thread, and 8 lanes buy nothing on 2 cores. A stored hash
    made with other parameters is rehashed at its next sign-in (``must_update``), so changing
    these numbers moves everyone over as they sign in. The algorithm's name stays "argon2", so
    hashes written by Django's own Argon2 hasher read here and the other way round.
    """

    # OWASP Password Storage Cheat Sheet, "Argon2id": m=19456 (19 MiB), t=2, p=1.
    memory_cost = 19 * 1024  # KiB
    time_cost = 2
    parallelism = 1
