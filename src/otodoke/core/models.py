from django.db import models


class Heartbeat(models.Model):
    """Written by a background task: `otodoke check` and the tests use it to see that a
    worker is really running tasks from the queue."""

    note = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.note} @ {self.created_at:%Y-%m-%d %H:%M:%S}"
