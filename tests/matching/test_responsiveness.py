"""The responsiveness measure against hand-computed cases."""

from __future__ import annotations

import datetime

from matching.responsiveness import Measure, Reply, in_words, measure

NOW = datetime.datetime(2026, 12, 2, 12, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def reply(days_ago: float, *, after_hours: float | None, due_hours: float = 48, never_heard: bool = False) -> Reply:
    received = NOW - days_ago * DAY
    responded = None if after_hours is None else received + after_hours * HOUR
    return Reply(received, received + due_hours * HOUR, responded, never_heard)


def test_answered_late_never_and_in_time_mixed() -> None:
    replies = [
        reply(10, after_hours=2),  # in time
        reply(20, after_hours=30),  # in time
        reply(30, after_hours=60),  # late
        reply(40, after_hours=None),  # never: expired
        reply(50, after_hours=5, never_heard=True),  # accepted in time, but the client never heard back: not in time
        reply(60, after_hours=10),  # in time
    ]
    assert measure(replies, now=NOW) == Measure(
        requests=6, answered=5, answered_in_time=3, median_reply_hours=10.0, never_heard_back=1
    )


def test_a_request_still_within_its_window_is_not_counted_yet_and_old_ones_fall_out() -> None:
    replies = [
        reply(1, after_hours=None),  # due tomorrow: not counted yet
        reply(181, after_hours=1),  # before the 180 days
        reply(3, after_hours=None),  # due yesterday, unanswered: counted
    ]
    assert measure(replies, now=NOW) == Measure(requests=1, answered=0, answered_in_time=0)


def test_below_five_requests_nothing_is_shown() -> None:
    four = measure([reply(day, after_hours=1) for day in range(1, 5)], now=NOW)
    assert four.requests == 4 and not four.is_shown and four.share_in_time is None and in_words(four) is None
    five = measure([reply(day, after_hours=1) for day in range(1, 6)], now=NOW)
    assert five.share_in_time == 1.0


def test_in_plain_words() -> None:
    quick = measure([reply(day, after_hours=3) for day in range(1, 10)] + [reply(11, after_hours=None)], now=NOW)
    assert in_words(quick) == "Usually replies within a day: 9 of 10 requests answered in time in the last 6 months"
    slowish = measure([reply(day, after_hours=40) for day in range(1, 7)], now=NOW)
    assert in_words(slowish) == "Usually replies within 2 days: 6 of 6 requests answered in time in the last 6 months"
    slow = measure([reply(day, after_hours=None) for day in range(3, 9)], now=NOW)
    assert in_words(slow) == "Often slow to reply: 0 of 6 requests answered in time in the last 6 months"
