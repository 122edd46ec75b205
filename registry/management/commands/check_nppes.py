"""`manage.py check_nppes FILE`: compare the listings with the NPI registry's monthly data file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from registry.nppes import LayoutError
from registry.selectors import findings_by_kind
from registry.services import check_nppes


class Command(BaseCommand):
    help = (
        "Check every listed therapist against an NPPES data dissemination file (npidata_pfile_*.csv): NPIs not "
        "found or deactivated (those listings are suspended), last names, practice ZIPs and licence numbers "
        "that differ. Staff see the findings in the admin."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the NPPES data file (CSV, unzipped)")
        parser.add_argument("--report-only", action="store_true", help="record the findings; suspend and email nobody")
        parser.add_argument(
            "--keep-providers",
            action="store_true",
            help="also keep the file's behavioural-health providers, to pre-fill new therapists' profiles",
        )

    def handle(self, *args: object, **options: object) -> None:
        started = time.perf_counter()
        try:
            check = check_nppes(
                path=options["file"],
                now=timezone.now(),
                report_only=options["report_only"],
                keep_providers=options["keep_providers"],
            )
        except (LayoutError, OSError) as error:
            raise CommandError(str(error)) from error
        seconds = time.perf_counter() - started
        kinds = findings_by_kind(check)
        self.stdout.write(
            f"{check.rows_read} rows read in {seconds:.1f} s; {check.therapists_checked} therapists checked; "
            f"{check.findings_count} findings ({', '.join(f'{kind}: {count}' for kind, count in kinds.items())}); "
            f"{check.suspended_count} listings suspended; {check.providers_kept} providers kept."
        )
