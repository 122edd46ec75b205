"""The memory a measured subprocess reports is its own."""

from __future__ import annotations

import subprocess
import sys

from bench.nppes import ROOT

REPORT = "from bench.memory import peak_rss_mb; print(peak_rss_mb())"


def test_a_subprocess_reports_its_own_peak_memory_not_the_benchs() -> None:
    ballast = b"x" * (400 * 2**20)  # the bench holding 400 MB when it starts the measured subprocess
    reported = subprocess.run([sys.executable, "-c", REPORT], cwd=ROOT, capture_output=True, text=True, check=True)
    assert len(ballast) and float(reported.stdout) < 200
