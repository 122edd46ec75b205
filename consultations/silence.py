"""Silence has a consequence: a therapist who lets requests expire unanswered stops counting as accepting.

A therapist's run of silence is how many of their last consultations to end,
by answer or by expiry, expired (withdrawn ones do not count); each ends at its
answer, or at its reply-by time when it expired. Counting starts again after
they lift a silence. When the run reaches CONSULTATION_SILENCE_LIMIT they are
silenced (`directory.profiles.silence`): they leave accepting searches and
matches until they confirm their availability. One run short of it they are
warned; a week later, still silenced, reminded. Each email goes once:
the warning and the silence on the expiry that makes the run that long, the reminder once per silence.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce

from consultations import notifications
from consultations.models import Consultation
from directory import profiles
from directory.models import Therapist

Status = Consultation.Status
ENDED = (Status.ACCEPTED, Status.DECLINED, Status.EXPIRED)


def run_length(statuses: Iterable[str]) -> int:
    """How many expired in a row at the start of `statuses` (the latest first)."""
    run = 0
    for status in statuses:
        if status != Status.EXPIRED:
            break
        run += 1
    return run


def _latest_ended(therapist: Therapist, count: int) -> list[tuple[int, str]]:
    """The therapist's last `count` ended consultations since their last lifted silence, latest first: (id, status)."""
    ended = Consultation.objects.filter(therapist=therapist, status__in=ENDED).annotate(
        ended_at=Coalesce("responded_at", "reply_by")
    )
    if therapist.silence_lifted_at is not None:
        ended = ended.filter(ended_at__gt=therapist.silence_lifted_at)
    ended = ended.order_by(F("ended_at").desc(), "-id")
    return list(ended.values_list("id", "status")[:count])


@transaction.atomic
def after_expiries(*, expired: Iterable[Consultation], now: datetime.datetime) -> dict[str, int]:
    """Warn or silence the therapists whose consultations just expired (`expired`), as their runs now say."""
    limit = settings.CONSULTATION_SILENCE_LIMIT
    new_by_therapist = Counter(consultation.therapist_id for consultation in expired)
    expired_ids = {consultation.pk for consultation in expired}
    warned = silenced = 0
    for therapist in Therapist.objects.filter(pk__in=new_by_therapist).select_related("user"):
        latest = _latest_ended(therapist, limit + new_by_therapist[therapist.pk])
        run = run_length(status for _, status in latest)
        run_before = run_length(status for pk, status in latest if pk not in expired_ids)
        if run >= limit and profiles.silence(therapist=therapist, now=now):
            notifications.silenced(therapist, run)
            silenced += 1
        elif run_before < limit - 1 <= run < limit and therapist.silenced_at is None:
            notifications.silence_warning(therapist, run)
            warned += 1
    return {"warned": warned, "silenced": silenced}


def send_reminders(*, now: datetime.datetime) -> int:
    """Remind each therapist still silenced SILENCE_REMINDER_DAYS after it happened, once per silence.

    Each reminder is queued in one transaction with its record. Returns how many were queued.
    """
    sent = 0
    for therapist in Therapist.objects.due_silence_reminder(now).select_related("user"):
        with transaction.atomic():
            if notifications.silence_reminder(therapist):
                sent += 1
            # Recorded even without an address, so nobody is retried every few minutes.
            Therapist.objects.filter(pk=therapist.pk).update(silence_reminder_sent_at=now)
    return sent
