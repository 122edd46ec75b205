"""`manage.py import_roster FILE [--dry-run] [--publish-as USERNAME] [--refused OUT.csv]`: a roster CSV into the
directory (docs/interop-roster.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from roster.services import RowOutcome, import_roster, write_refused_csv


class Command(BaseCommand):
    help = "Import a roster CSV (fixtures/roster-template.csv): rows matched by NPI; --dry-run changes nothing."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the roster, UTF-8 CSV with the template's header")
        parser.add_argument("--dry-run", action="store_true", help="report what would happen, change nothing")
        parser.add_argument(
            "--publish-as",
            metavar="USERNAME",
            help="a staff user who vouches for the roster: new and changed profiles are published, "
            "their IPT credentials verified by this user (without it they wait for review)",
        )
        parser.add_argument("--refused", type=Path, metavar="OUT.csv", help="write the refused rows to this CSV")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: object, **options: object) -> None:
        path: Path = options["file"]
        publisher = self._publisher(options["publish_as"]) if options["publish_as"] else None
        try:
            stream = path.open(newline="", encoding="utf-8-sig")
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error.strerror or error}.") from None
        total = self._count_lines(path)
        progress = tqdm(total=total, unit=" rows", disable=options["no_progress"], file=self.stderr._out)
        verbose = options["verbosity"] >= 2

        def on_row(outcome: RowOutcome) -> None:
            progress.update(1)
            if outcome.action == "refuse" or verbose:
                for line in describe(outcome):
                    progress.write(line, file=self.stdout._out)

        with stream:
            summary = import_roster(stream, dry_run=options["dry_run"], publisher=publisher, on_row=on_row)
        progress.close()
        if options["refused"]:
            with options["refused"].open("w", newline="", encoding="utf-8") as out:
                write_refused_csv(summary, out)
        if summary.file_problems:
            problems = "; ".join(f"line {problem.line}: {problem.message}" for problem in summary.file_problems)
            raise CommandError(f"{path} is not a usable roster: {problems}")
        verb = "would be " if options["dry_run"] else ""
        self.stdout.write(
            f"{summary.rows} rows: {summary.created} {verb}created, {summary.updated} {verb}updated, "
            f"{summary.unchanged} unchanged, {summary.refused} refused"
            + (" (dry run: nothing was changed)" if options["dry_run"] else "")
        )

    def _publisher(self, username: str) -> object:
        user = get_user_model()._default_manager.filter(username=username, is_active=True).first()
        if user is None or not user.is_staff:
            raise CommandError(f"--publish-as names no active staff user “{username}”.")
        return user

    @staticmethod
    def _count_lines(path: Path) -> int | None:
        """The rows to expect, for the bar: the file's lines less the header (a quoted cell may span more)."""
        with path.open("rb") as stream:
            return max(0, sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b"")) - 1)


def describe(outcome: RowOutcome) -> list[str]:
    """An outcome as the command prints it: `line 7 (NPI 1234567893, Ana Ruiz): refuse` and one line per problem."""
    who = ", ".join(part for part in (f"NPI {outcome.npi}" if outcome.npi else "", outcome.name) if part)
    lines = [f"line {outcome.line}{f' ({who})' if who else ''}: {outcome.action}"]
    lines += [
        f"  line {problem.line}, column {problem.column or '-'}: {problem.message}" for problem in outcome.problems
    ]
    return lines
