"""The reply clock: business days, without weekends and US federal holidays.

Pure: the caller passes local times (settings.TIME_ZONE) and the number of days.
A request sent on a business day is due the same time of day `days` business
days later; one sent on a weekend or holiday counts from the start of the next
business day, so a Saturday request with 2 days is due at the end of Tuesday.
"""

from __future__ import annotations

import datetime
from functools import cache

import holidays


@cache
def _federal_holidays(year: int) -> frozenset[datetime.date]:
    # The days federal offices close, the observed day included (July 3rd when the 4th is a Saturday).
    return frozenset(holidays.US(years=year, categories=(holidays.PUBLIC,)))


def is_business_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in _federal_holidays(day.year)


def next_business_day(day: datetime.date) -> datetime.date:
    """The first business day after `day`."""
    day += datetime.timedelta(days=1)
    while not is_business_day(day):
        day += datetime.timedelta(days=1)
    return day


def add_business_days(start: datetime.datetime, days: int) -> datetime.datetime:
    """The moment `days` business days after `start` (an aware local time)."""
    if not is_business_day(start.date()):
        start = datetime.datetime.combine(next_business_day(start.date()), datetime.time(), tzinfo=start.tzinfo)
    day = start.date()
    for _ in range(days):
        day = next_business_day(day)
    return start.replace(year=day.year, month=day.month, day=day.day)
