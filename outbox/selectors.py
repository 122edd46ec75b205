"""Reads about the outbox and its task queue."""

from __future__ import annotations

from django.db import DatabaseError
from django_tasks_db.models import DBTaskResult


def queue_is_reachable() -> bool:
    """Whether the task queue answers, for /readyz: one cheap query on the task table."""
    try:
        DBTaskResult.objects.exists()
    except DatabaseError:
        return False
    return True
