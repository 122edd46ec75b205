"""Staff's roster uploads in the admin: a preview (a dry run) in the background, then the import once confirmed.

Both passes run `roster.services.import_roster`, the engine of `manage.py import_roster`,
in the worker (roster.tasks). Each records every row's outcome (ImportRow) and counts
rows done as it goes, so the run's page can show progress and then the preview page by
page: the engine reports each batch's outcomes after the batch's transaction (rolled back
in a dry run), so what is recorded is kept.
"""

from __future__ import annotations

import csv
import io
import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from roster import tasks
from roster.models import ImportRow, ImportRun
from roster.services import ImportSummary, Problem, import_roster, write_refused_csv
from roster.services import RowOutcome as Outcome
from roster.template import header_problems

logger = logging.getLogger(__name__)

# Outcomes recorded (and progress written) at a time.
ROWS_PER_WRITE = 1000


def read_upload(*, name: str, content: bytes) -> str:
    """The uploaded roster as text; ValidationError on `file` says what is wrong with it."""
    if not name.lower().endswith(".csv"):
        raise ValidationError({"file": ["Upload a .csv file (in a spreadsheet: Save as, CSV UTF-8)."]})
    if len(content) > settings.ROSTER_UPLOAD_MAX_MB * 1024 * 1024:
        raise ValidationError({"file": [f"The file is larger than {settings.ROSTER_UPLOAD_MAX_MB} MB; split it."]})
    try:
        text = content.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as error:
        message = f"The file is not UTF-8 text (byte {error.start + 1}): save it as “CSV UTF-8” and upload it again."
        raise ValidationError({"file": [message]}) from error
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as error:
        raise ValidationError({"file": [f"The first line is not readable as CSV: {error}."]}) from error
    if not header:
        raise ValidationError({"file": ["The file is empty: the first line must be the template's header."]})
    problems = header_problems([name.strip() for name in header])
    if problems:
        raise ValidationError({"file": [problem.message for problem in problems]})
    return text


@transaction.atomic
def start_run(*, uploaded_by: AbstractBaseUser, file_name: str, content: bytes, publish: bool) -> ImportRun:
    """A run for the uploaded file, its preview queued for the worker; ValidationError names `file`."""
    text = read_upload(name=file_name, content=content)
    run = ImportRun.objects.create(
        file_name=file_name[:255], csv_text=text, uploaded_by=uploaded_by, publish=publish,
        rows_total=count_rows(text),
    )  # fmt: skip
    tasks.preview_run.enqueue(run.pk)
    return run


@transaction.atomic
def confirm_run(*, run: ImportRun, confirmed_by: AbstractBaseUser) -> bool:
    """Queue the real import of a previewed run; False (nothing queued) when it is not waiting for confirmation."""
    confirmed = ImportRun.objects.filter(pk=run.pk, status=ImportRun.Status.PREVIEWED).update(
        status=ImportRun.Status.IMPORTING, confirmed_by=confirmed_by, rows_done=0
    )
    if confirmed:
        tasks.import_run.enqueue(run.pk)
    return bool(confirmed)


def count_rows(text: str) -> int:
    """The data rows (CSV records, blank lines aside) after the header: what the progress bar counts to."""
    try:
        return sum(1 for record in csv.reader(io.StringIO(text, newline="")) if record) - 1
    except csv.Error:
        return 0  # the engine says where the file breaks


def preview(*, run_id: int) -> None:
    """The dry run of a queued run, recorded as it goes; any failure is recorded on the run."""
    if _take(run_id, ImportRun.Status.QUEUED, ImportRun.Status.PREVIEWING):
        run = ImportRun.objects.select_related("uploaded_by").get(pk=run_id)
        _run(run, dry_run=True, publisher=run.uploaded_by if run.publish else None, ends=ImportRun.Status.PREVIEWED)


def apply(*, run_id: int) -> None:
    """The real import of a confirmed run; rows done are recorded as they go, and any failure on the run."""
    started = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.IMPORTING, import_started_at=None)
    if started.update(import_started_at=timezone.now()):  # a task delivered twice imports once
        run = ImportRun.objects.select_related("confirmed_by").get(pk=run_id)
        _run(run, dry_run=False, publisher=run.confirmed_by if run.publish else None, ends=ImportRun.Status.DONE)


def _run(run: ImportRun, *, dry_run: bool, publisher: AbstractBaseUser | None, ends: str) -> None:
    with _failure_recorded(run.pk):
        tally = _Tally(run.pk)
        summary = import_roster(
            io.StringIO(run.csv_text, newline=""), dry_run=dry_run, publisher=publisher, on_row=tally.add
        )
        tally.finish(summary, ends)


def _take(run_id: int, expected: str, status: str) -> bool:
    """The worker's claim on the run: a task delivered twice finds it taken and does nothing."""
    return bool(ImportRun.objects.filter(pk=run_id, status=expected).update(status=status))


class _failure_recorded:
    """Whatever stops a pass ends it as "failed", with a message staff can act on; never an unfinished run."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: object) -> bool:
        if error is None or not isinstance(error, Exception):
            return False
        logger.exception("Roster import run %s failed", self.run_id, exc_info=error)
        run = ImportRun.objects.get(pk=self.run_id)
        message = f"The run stopped after {run.rows_done} row(s): {type(error).__name__}: {error}"
        if run.status == ImportRun.Status.IMPORTING:
            message += " The rows before it were imported; importing the same file again skips them."
        ImportRun.objects.filter(pk=self.run_id).update(
            status=ImportRun.Status.FAILED, failure=message, finished_at=timezone.now()
        )
        return True


class _Tally:
    """The outcomes of a pass, written to the run in batches: rows, counts, progress and the refused rows."""

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self.pending: list[Outcome] = []
        self.counts = dict.fromkeys(ImportRow.Action.values, 0)
        ImportRow.objects.filter(run_id=run_id).delete()

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.action] += 1
        self.pending.append(outcome)
        if len(self.pending) >= ROWS_PER_WRITE:
            self.flush()

    def flush(self) -> None:
        ImportRow.objects.bulk_create(
            [
                ImportRow(
                    run_id=self.run_id,
                    line=outcome.line,
                    npi=outcome.npi[:20],
                    name=outcome.name[:200],
                    action=outcome.action,
                    problems=[_problem_dict(problem) for problem in outcome.problems],
                )
                for outcome in self.pending
            ],
            batch_size=ROWS_PER_WRITE,
        )
        self.pending.clear()
        ImportRun.objects.filter(pk=self.run_id).update(rows_done=sum(self.counts.values()), **self._counts())

    def finish(self, summary: ImportSummary, status: str) -> None:
        self.flush()
        refused = io.StringIO()
        write_refused_csv(summary, refused)
        done = sum(self.counts.values())
        ImportRun.objects.filter(pk=self.run_id).update(
            status=status, refused_csv=refused.getvalue(), finished_at=timezone.now(), rows_done=done,
            rows_total=done, file_problems=[_problem_dict(problem) for problem in summary.file_problems],
            **self._counts(),
        )  # fmt: skip

    def _counts(self) -> dict[str, int]:
        return {"created": self.counts["create"], "updated": self.counts["update"],
                "unchanged": self.counts["unchanged"], "refused": self.counts["refuse"]}  # fmt: skip


def _problem_dict(problem: Problem) -> dict[str, object]:
    return {"line": problem.line, "column": problem.column, "message": problem.message}
