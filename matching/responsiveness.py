"""How a therapist answers: the one definition of responsiveness, for the engine and the pages alike.

Pure Python, like `matching.ranking`: the caller gathers a therapist's physicians'
offers and clients' consultation requests of the last WINDOW_DAYS as `Reply`
values (leaving out those withdrawn before an answer was due) and passes `now`.

- A request counts once it was answered, or once its reply-by time passed unanswered.
- Answered in time: answered at or before its reply-by time, unless the client
  reports never hearing back after an acceptance: that counts against the
  therapist, as no answer in time.
- The median reply time is over the answered ones, in hours.
- Below MIN_REQUESTS counted requests the measure is not shown, and the engine
  scores responsiveness as neutral.
"""

from __future__ import annotations

import datetime
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

WINDOW_DAYS = 180
MIN_REQUESTS = 5


@dataclass(frozen=True)
class Reply:
    """One request a therapist received: when, when an answer was due, when (if ever) they answered."""

    received_at: datetime.datetime
    reply_by: datetime.datetime
    responded_at: datetime.datetime | None = None
    never_heard_back: bool = False  # accepted, and the client reports no contact


@dataclass(frozen=True)
class Measure:
    requests: int = 0
    answered: int = 0
    answered_in_time: int = 0
    median_reply_hours: float | None = None
    never_heard_back: int = 0

    @property
    def is_shown(self) -> bool:
        return self.requests >= MIN_REQUESTS

    @property
    def share_in_time(self) -> float | None:
        """The share answered in time, once shown; None below MIN_REQUESTS."""
        return self.answered_in_time / self.requests if self.is_shown else None

    @property
    def usually_in_time(self) -> bool:
        """Shown, and at least half the requests answered in time: "Usually replies ...", not "Often slow"."""
        return self.is_shown and self.median_reply_hours is not None and self.answered_in_time * 2 >= self.requests


def window_start(now: datetime.datetime) -> datetime.datetime:
    return now - datetime.timedelta(days=WINDOW_DAYS)


def measure(replies: Iterable[Reply], *, now: datetime.datetime) -> Measure:
    """The measure over the replies received in the WINDOW_DAYS before `now`."""
    start = window_start(now)
    counted = [
        reply
        for reply in replies
        if reply.received_at >= start and (reply.responded_at is not None or reply.reply_by < now)
    ]
    hours = [(reply.responded_at - reply.received_at).total_seconds() / 3600 for reply in counted if reply.responded_at]
    return Measure(
        requests=len(counted),
        answered=len(hours),
        answered_in_time=sum(1 for reply in counted if _in_time(reply)),
        median_reply_hours=round(statistics.median(hours), 1) if hours else None,
        never_heard_back=sum(1 for reply in counted if reply.never_heard_back),
    )


def headline(measure: Measure) -> str | None:
    """The first words of `in_words`: "Usually replies within a day", or None below MIN_REQUESTS."""
    if not measure.is_shown:
        return None
    if not measure.usually_in_time:
        return "Often slow to reply"
    if measure.median_reply_hours <= 24:
        return "Usually replies within a day"
    return f"Usually replies within {max(2, round(measure.median_reply_hours / 24))} days"


def _in_time(reply: Reply) -> bool:
    return reply.responded_at is not None and reply.responded_at <= reply.reply_by and not reply.never_heard_back


def in_words(measure: Measure) -> str | None:
    """The measure as a client reads it, or None below MIN_REQUESTS.

    "Usually replies within a day: 9 of 10 requests in the last 6 months."
    """
    words = headline(measure)
    if words is None:
        return None
    counts = f"{measure.answered_in_time} of {measure.requests} requests answered in time"
    return f"{words}: {counts} in the last {WINDOW_DAYS // 30} months"
