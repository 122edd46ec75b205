"""What a measured subprocess says of its own memory."""

from __future__ import annotations

import resource
import threading
import time
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB since it started its program (Linux's VmHWM).

    Not getrusage's ru_maxrss where /proc has the figure: after fork and exec
    that keeps the peak of the process it was forked from, so a subprocess of
    the bench reported the bench's own memory.
    """
    if STATUS.exists():
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # kilobytes on Linux


class AnonymousMemory(threading.Thread):
    """The process's peak anonymous resident memory (RssAnon, sampled every 0.2 s) while the block runs: its
    own heap and SQLite's page cache, without the database file's pages that SQLite maps into memory
    (RssFile), which the peak resident memory counts too and which the kernel drops at will."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kb, self.running = 0, True

    def __enter__(self) -> AnonymousMemory:
        self.start()
        return self

    def __exit__(self, *exception: object) -> None:
        self.running = False
        self.join()

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)

    def run(self) -> None:
        while self.running and STATUS.exists():
            for line in STATUS.read_text().splitlines():
                if line.startswith("RssAnon:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            time.sleep(0.2)
