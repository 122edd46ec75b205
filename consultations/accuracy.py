"""How true the directory is, in public figures: fresh availability, replies in time, reports handled, silences.

Every figure is counted from the tables in a fixed number of queries (four),
whatever their size, and kept in the cache for CACHE_SECONDS at most. Nothing
in them names a client or a therapist.

- Fresh availability: of the published listings, how many confirmed their
  availability in the last 30 and in the last 60 days (the freshness window).
- Replies: the one responsiveness measure (`matching.responsiveness.measure`)
  over every consultation request and physician's offer received in the last
  WINDOW_DAYS, gathered as the therapists' own measures gather them
  (`measures.replies_since`).
- Reports: listing reports received in the window, and how many of those staff resolved.
- Silence: published therapists hidden now for letting requests expire
  unanswered (`consultations.silence`), and those hidden at some time in the window.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from consultations.measures import replies_since
from directory.models import ListingReport, Therapist
from matching.responsiveness import measure

WINDOW_DAYS = 90
FRESH_DAYS = (30, 60)
CACHE_SECONDS = 5 * 60
CACHE_KEY = "accuracy:figures:v1"


@dataclass(frozen=True)
class Figures:
    """The accuracy page's figures; shares are None when there is nothing to divide."""

    computed_at: datetime.datetime
    window_days: int
    published: int
    confirmed_30_days: int
    confirmed_60_days: int
    requests: int
    answered: int
    answered_in_time: int
    median_reply_hours: float | None
    reports_received: int
    reports_resolved: int
    silenced_now: int
    silenced_in_window: int

    @property
    def share_confirmed_30_days(self) -> float | None:
        return _share(self.confirmed_30_days, self.published)

    @property
    def share_confirmed_60_days(self) -> float | None:
        return _share(self.confirmed_60_days, self.published)

    @property
    def share_answered_in_time(self) -> float | None:
        return _share(self.answered_in_time, self.requests)

    def as_dict(self) -> dict[str, object]:
        """The fields and the shares (each rounded to 3 places), as the API gives them."""
        shares = {
            "share_confirmed_30_days": self.share_confirmed_30_days,
            "share_confirmed_60_days": self.share_confirmed_60_days,
            "share_answered_in_time": self.share_answered_in_time,
        }
        rounded = {name: None if value is None else round(value, 3) for name, value in shares.items()}
        return {**dataclasses.asdict(self), **rounded}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def compute(*, now: datetime.datetime | None = None) -> Figures:
    """The figures as of `now`, from the tables: four queries."""
    now = now or timezone.now()
    start = now - datetime.timedelta(days=WINDOW_DAYS)
    days_ago = {days: now - datetime.timedelta(days=days) for days in FRESH_DAYS}
    listings = Therapist.objects.published().aggregate(
        published=Count("pk"),
        confirmed_30_days=Count("pk", filter=Q(availability_confirmed_at__gte=days_ago[30])),
        confirmed_60_days=Count("pk", filter=Q(availability_confirmed_at__gte=days_ago[60])),
        silenced_now=Count("pk", filter=Q(silenced_at__isnull=False)),
        silenced_in_window=Count("pk", filter=Q(silenced_at__isnull=False) | Q(silence_lifted_at__gte=start)),
    )
    reports = ListingReport.objects.filter(created_at__gte=start).aggregate(
        reports_received=Count("pk"), reports_resolved=Count("pk", filter=Q(resolved_at__isnull=False))
    )
    # Received in the window only, so the measure's own (longer) window leaves every one in.
    replies = measure(itertools.chain.from_iterable(replies_since(start).values()), now=now)
    return Figures(
        computed_at=now,
        window_days=WINDOW_DAYS,
        requests=replies.requests,
        answered=replies.answered,
        answered_in_time=replies.answered_in_time,
        median_reply_hours=replies.median_reply_hours,
        **listings,
        **reports,
    )


def figures() -> Figures:
    """The figures, from the cache when computed less than CACHE_SECONDS ago."""
    return cache.get_or_set(CACHE_KEY, compute, timeout=CACHE_SECONDS)
