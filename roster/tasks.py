"""The roster upload's background tasks, run by the worker (`manage.py db_worker`)."""

from __future__ import annotations

from django_tasks import task


@task()
def preview_run(run_id: int) -> None:
    """The dry run of an uploaded roster (roster.uploads.preview)."""
    # The uploads module enqueues these tasks, so it is imported when they run, not when they are defined.
    from roster import uploads

    uploads.preview(run_id=run_id)


@task()
def import_run(run_id: int) -> None:
    """The confirmed import of an uploaded roster (roster.uploads.apply)."""
    from roster import uploads

    uploads.apply(run_id=run_id)
