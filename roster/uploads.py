"""Staff's roster uploads in the admin: a preview (a dry run) in the background, then the import once confirmed.

Both passes run `roster.services.import_roster`, the engine of `manage.py import_roster`,
in the worker (roster.tasks). Each records every row's outcome (ImportRow) and counts
rows done as it goes, so the run's page can show progress and then the preview page by
page. The engine's dry run is one transaction rolled back at the end, so nothing written
inside it would be seen, or kept: the preview therefore runs the file a chunk of rows at
a time and records between chunks. A row's NPI repeated in a later chunk is refused as
the engine refuses it within one.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from dataclasses import replace

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from roster import tasks
from roster.models import ImportRow, ImportRun
from roster.services import ImportSummary, Problem, import_roster, write_refused_csv
from roster.services import RowOutcome as Outcome
from roster.template import header_problems, repeated_npi

logger = logging.getLogger(__name__)

# Rows per dry-run chunk, and between progress writes of the real run.
CHUNK_ROWS = 1000


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
    """The dry run of a queued run, recorded a chunk at a time; any failure is recorded on the run."""
    if not _take(run_id, ImportRun.Status.QUEUED, ImportRun.Status.PREVIEWING):
        return
    run = ImportRun.objects.select_related("uploaded_by").get(pk=run_id)
    publisher = run.uploaded_by if run.publish else None
    with _failure_recorded(run_id):
        tally = _Tally(run_id, writes_as_it_goes=False)
        for offset, chunk in chunks(run.csv_text, CHUNK_ROWS):
            summary = import_roster(
                io.StringIO(chunk, newline=""),
                dry_run=True,
                publisher=publisher,
                on_row=lambda outcome, offset=offset: tally.add(moved(outcome, offset)),
            )
            tally.end_of_file(summary, offset)
            tally.flush()
        tally.finish(ImportRun.Status.PREVIEWED)


def apply(*, run_id: int) -> None:
    """The real import of a confirmed run; rows done are recorded as they go, and any failure on the run."""
    started = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.IMPORTING, import_started_at=None)
    if not started.update(import_started_at=timezone.now()):  # a task delivered twice imports once
        return
    run = ImportRun.objects.select_related("confirmed_by").get(pk=run_id)
    with _failure_recorded(run_id):
        tally = _Tally(run_id, writes_as_it_goes=True)
        publisher = run.confirmed_by if run.publish else None
        summary = import_roster(
            io.StringIO(run.csv_text, newline=""), dry_run=False, publisher=publisher, on_row=tally.add
        )
        tally.end_of_file(summary)
        tally.finish(ImportRun.Status.DONE)


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


def moved(outcome: Outcome, offset: int) -> Outcome:
    """A chunk's outcome with its lines counted in the whole file."""
    if not offset:
        return outcome
    problems = [replace(problem, line=problem.line + offset) for problem in outcome.problems]
    return replace(outcome, line=outcome.line + offset, problems=problems)


def chunks(text: str, size: int) -> Iterator[tuple[int, str]]:
    """(line offset, the header and the next `size` records, as written) over the file.

    A record's lines are taken as they are (a quoted cell may hold a line break), so the
    engine's line numbers plus the offset are the file's. A file that breaks as CSV ends
    with one chunk holding the rest, for the engine to report where.
    """
    taken: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(text, newline=""):
            taken.append(line)
            yield line

    records = csv.reader(lines())
    try:
        next(records)
    except (StopIteration, csv.Error):
        yield 0, text
        return
    header, header_lines = "".join(taken), len(taken)
    taken.clear()
    first_line, count = header_lines + 1, 0
    try:
        for _ in records:
            count += 1
            if count == size:
                yield first_line - header_lines - 1, header + "".join(taken)
                first_line += len(taken)
                taken.clear()
                count = 0
    except csv.Error:
        taken.extend(io.StringIO(text, newline="").readlines()[first_line - 1 + len(taken) :])
    if taken:
        yield first_line - header_lines - 1, header + "".join(taken)


class _Tally:
    """The outcomes of a pass, written to the run in batches: rows, counts, progress and the refused rows."""

    def __init__(self, run_id: int, *, writes_as_it_goes: bool) -> None:
        # Not inside a dry run: what it writes is rolled back with it. The preview flushes between chunks.
        self.run_id, self.writes_as_it_goes = run_id, writes_as_it_goes
        self.pending: list[Outcome] = []
        self.refused_rows: list[Outcome] = []
        self.file_problems: list[Problem] = []
        self.counts = dict.fromkeys(ImportRow.Action.values, 0)
        self.first_line_by_npi: dict[str, int] = {}
        ImportRow.objects.filter(run_id=run_id).delete()

    def add(self, outcome: Outcome) -> None:
        if outcome.npi and outcome.action != ImportRow.Action.REFUSE:
            first = self.first_line_by_npi.setdefault(outcome.npi, outcome.line)
            if first != outcome.line:  # the same NPI in an earlier chunk of a preview
                problems = [Problem(outcome.line, "npi", repeated_npi(outcome.npi, first))]
                outcome = replace(outcome, action="refuse", problems=problems)
        self.counts[outcome.action] += 1
        if outcome.action == ImportRow.Action.REFUSE:
            self.refused_rows.append(outcome)
        self.pending.append(outcome)
        if self.writes_as_it_goes and len(self.pending) >= CHUNK_ROWS:
            self.flush()

    def end_of_file(self, summary: ImportSummary, offset: int = 0) -> None:
        """Where the file stopped being readable (the engine's file problems), if it did."""
        self.file_problems += [replace(problem, line=problem.line + offset) for problem in summary.file_problems]

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
            batch_size=CHUNK_ROWS,
        )
        self.pending.clear()
        ImportRun.objects.filter(pk=self.run_id).update(rows_done=sum(self.counts.values()), **self._counts())

    def finish(self, status: str) -> None:
        self.flush()
        refused = io.StringIO()
        write_refused_csv(ImportSummary(refused=len(self.refused_rows), refused_rows=self.refused_rows), refused)
        done = sum(self.counts.values())
        ImportRun.objects.filter(pk=self.run_id).update(
            status=status, refused_csv=refused.getvalue(), finished_at=timezone.now(), rows_done=done,
            rows_total=done, file_problems=[_problem_dict(problem) for problem in self.file_problems],
            **self._counts(),
        )  # fmt: skip

    def _counts(self) -> dict[str, int]:
        return {"created": self.counts["create"], "updated": self.counts["update"],
                "unchanged": self.counts["unchanged"], "refused": self.counts["refuse"]}  # fmt: skip


def _problem_dict(problem: Problem) -> dict[str, object]:
    return {"line": problem.line, "column": problem.column, "message": problem.message}
