"""The reply clock counts business days: weekends and US federal holidays do not count."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest

from consultations import clock

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def at(day: str, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(datetime.date.fromisoformat(day), datetime.time(hour), tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("sent", "due"),
    [
        (at("2026-12-01"), at("2026-12-03")),  # Tuesday → Thursday
        (at("2026-12-03", 16), at("2026-12-07", 16)),  # Thursday afternoon → Monday afternoon: the weekend skipped
        (at("2026-12-05"), at("2026-12-09", 0)),  # Saturday → counts from Monday morning: due as Tuesday ends
        (at("2026-11-25"), at("2026-11-30")),  # Wednesday before Thanksgiving → Monday (Thursday is a holiday)
        (at("2026-12-24"), at("2026-12-29")),  # Christmas Eve (Thursday) → Tuesday: Christmas Day and the weekend
        (at("2026-07-02"), at("2026-07-07")),  # Independence Day falls on a Saturday, observed Friday the 3rd
        (at("2027-01-15"), at("2027-01-20")),  # Friday before Martin Luther King Jr. Day → Wednesday
    ],
)
def test_two_business_days(sent: datetime.datetime, due: datetime.datetime) -> None:
    assert clock.add_business_days(sent, 2) == due


def test_a_holiday_is_no_business_day_and_the_next_one_skips_it() -> None:
    assert not clock.is_business_day(datetime.date(2026, 11, 26))  # Thanksgiving
    assert not clock.is_business_day(datetime.date(2026, 12, 6))  # Sunday
    assert clock.next_business_day(datetime.date(2026, 11, 25)) == datetime.date(2026, 11, 27)


def test_the_clock_keeps_local_time_across_the_change_from_daylight_saving() -> None:
    # DST ends on Sunday, Nov 1, 2026: a Friday 9 AM request is due Tuesday 9 AM local time, 97 hours later.
    due = clock.add_business_days(at("2026-10-30", 9), 2)
    assert due == at("2026-11-03", 9)
    utc = datetime.UTC
    assert due.astimezone(utc) - at("2026-10-30", 9).astimezone(utc) == datetime.timedelta(hours=24 * 4 + 1)
