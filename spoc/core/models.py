from django.db import models


class Heartbeat(models.Model):
    """The last sign of life of a background process (one row per process kind).

    Written by the worker itself, so /healthz can tell a running worker from a broker that merely
    answers pings.
    """

    name = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()
    detail = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
