"""A believable history of consultation requests for the demo therapists, so the responsiveness measure shows.

Deterministic: each therapist's history comes from a generator seeded with its NPI,
and its dates are relative to `now`, like the demo directory's. The requests are
anonymous (no client, `request` null), as retention leaves real ones after 90 days.
Loading again replaces the demo therapists' anonymous requests rather than adding more.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from consultations.measures import refresh_measures
from consultations.models import Consultation, reply_by
from directory.demo import DEMO_ACCOUNT_PROFILES, make_npi
from directory.models import Therapist

Status = Consultation.Status
HISTORY_SHARE = 0.4  # of the other published demo therapists, those with a history
OLDEST_DAYS, NEWEST_DAYS = 175, 7  # every request of the history was answered or expired before `now`


@dataclass(frozen=True)
class Habit:
    """How a kind of therapist answers: how many requests, how often, and how many hours after."""

    name: str
    requests: tuple[int, int]
    answers: float  # the share answered at all
    hours: tuple[float, float]  # the range of hours to an answer
    late: float  # the share of answers that come after the reply window
    never_heard: float  # of the accepted, the share whose client never heard back


HABITS = (
    Habit("prompt", (8, 16), answers=0.95, hours=(1, 20), late=0.0, never_heard=0.0),
    Habit("steady", (6, 12), answers=0.9, hours=(12, 40), late=0.15, never_heard=0.0),
    Habit("slow", (6, 10), answers=0.6, hours=(30, 60), late=0.5, never_heard=0.2),
    Habit("new", (1, 4), answers=1.0, hours=(2, 30), late=0.0, never_heard=0.0),  # too few to show
)


def history_of(therapist_id: int, habit: Habit, rng: random.Random, now: datetime.datetime) -> list[Consultation]:
    """One therapist's anonymous requests of the last months, answered (or not) as `habit` says."""
    consultations = []
    for _ in range(rng.randint(*habit.requests)):
        day = timezone.localtime(now - datetime.timedelta(days=rng.randint(NEWEST_DAYS, OLDEST_DAYS)))
        sent_at = day.replace(hour=rng.randint(8, 20), minute=rng.randint(0, 59), second=0, microsecond=0)
        due = reply_by(sent_at)
        consultation = Consultation(therapist_id=therapist_id, sent_at=sent_at, reply_by=due, status=Status.EXPIRED)
        if rng.random() < habit.answers:
            window = (due - sent_at).total_seconds() / 3600
            if rng.random() < habit.late:
                hours = window + rng.uniform(2, 30)
            else:
                hours = rng.uniform(habit.hours[0], min(habit.hours[1], window))
            consultation.responded_at = sent_at + datetime.timedelta(hours=hours)
            if rng.random() < 0.75:
                consultation.status = Status.ACCEPTED
                never_heard = rng.random() < habit.never_heard
                consultation.outcome = Consultation.Outcome.NEVER_HEARD if never_heard else Consultation.Outcome.NONE
            else:
                consultation.status = Status.DECLINED
                consultation.decline_reason = rng.choice(Consultation.DeclineReason.values[:-1])
        consultations.append(consultation)
    return consultations


@transaction.atomic
def load_history(*, now: datetime.datetime | None = None) -> int:
    """Give the demo therapists with a login, and some others, a history of requests; how many requests in all.

    Replaces the anonymous requests of every demo therapist, then measures them again.
    """
    now = now or timezone.now()
    demo = dict(Therapist.objects.filter(is_demo=True).values_list("npi", "pk"))
    with_login = {make_npi(number) for number in DEMO_ACCOUNT_PROFILES.values()}
    Consultation.objects.filter(request__isnull=True, therapist__is_demo=True).delete()
    consultations = []
    for npi, therapist_id in sorted(demo.items()):
        rng = random.Random(f"replies-{npi}")
        if npi in with_login:
            habit = HABITS[0]
        elif rng.random() < HISTORY_SHARE:
            habit = rng.choice(HABITS)
        else:
            continue
        consultations += history_of(therapist_id, habit, rng, now)
    Consultation.objects.bulk_create(consultations, batch_size=1000)
    refresh_measures(demo.values(), now=now)
    return len(consultations)
