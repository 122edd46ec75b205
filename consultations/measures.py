"""How each therapist answers requests: the responsiveness measure gathered, computed and stored.

Consultations is the one app that sees both kinds of request a therapist answers:
clients' consultation requests and physicians' offers. Here they become
`matching.responsiveness.Reply` values, `measure` (the one definition) computes the
figures, and they are stored on the therapist (`Therapist.reply_*`, with the words
of `in_words`), where the pages, the API and the search index read them; the
cards and search entries of the therapists whose figures changed are rebuilt.

A reply's rules:
- a consultation counts from when it was sent, due at its `reply_by`; an offer from
  when it was made, due at `models.reply_by` of that moment (the same business days);
- one withdrawn (by the client; an offer by the referrer, or because another
  therapist accepted first) is left out: nobody was waiting for the answer any more;
- a consultation whose client reported "never heard back" counts as such.

The services measure a therapist again after each answer, expiry and reported
outcome (offers' through `matching.signals.offers_answered`); `refresh_all_measures`,
run by `manage.py expire_consultations`, follows the window as it slides, and
corrects a figure that two answers written at the same moment raced on.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from consultations.models import Consultation, reply_by
from directory import search
from directory.models import Therapist
from matching.models import Offer
from matching.responsiveness import Measure, Reply, in_words, measure, window_start

MEASURED_FIELDS = [
    "reply_requests", "reply_answered", "reply_answered_in_time", "reply_median_hours", "reply_never_heard_back",
    "reply_summary",
]  # fmt: skip


def _received_since(start: datetime.datetime) -> tuple[QuerySet, QuerySet]:
    """The consultations and offers received since `start` that count, of every therapist."""
    consultations = Consultation.objects.filter(sent_at__gte=start).exclude(status=Consultation.Status.WITHDRAWN)
    offers = Offer.objects.filter(created_at__gte=start).exclude(status=Offer.Status.WITHDRAWN)
    return consultations, offers


def replies_since(start: datetime.datetime, *, therapist_ids: list[int] | None = None) -> dict[int, list[Reply]]:
    """The replies received since `start` of these therapists (None: of every one), by therapist: two queries.

    An offer is due as a consultation would be (`models.reply_by`); a consultation
    whose client never heard back is marked so.
    """
    consultations, offers = _received_since(start)
    if therapist_ids is not None:
        consultations = consultations.filter(therapist_id__in=therapist_ids)
        offers = offers.filter(therapist_id__in=therapist_ids)
    replies: dict[int, list[Reply]] = defaultdict(list)
    never_heard = Consultation.Outcome.NEVER_HEARD
    rows = consultations.values_list("therapist_id", "sent_at", "reply_by", "responded_at", "outcome")
    for therapist_id, sent_at, due, responded_at, outcome in rows:
        replies[therapist_id].append(Reply(sent_at, due, responded_at, never_heard_back=outcome == never_heard))
    for therapist_id, created_at, responded_at in offers.values_list("therapist_id", "created_at", "responded_at"):
        replies[therapist_id].append(Reply(created_at, reply_by(created_at), responded_at))
    return replies


def stored_figures(result: Measure) -> dict[str, object]:
    """A measure as the therapist's `reply_*` fields hold it."""
    return {
        "reply_requests": result.requests,
        "reply_answered": result.answered,
        "reply_answered_in_time": result.answered_in_time,
        "reply_median_hours": result.median_reply_hours,
        "reply_never_heard_back": result.never_heard_back,
        "reply_summary": in_words(result) or "",
    }


@transaction.atomic
def refresh_measures(therapist_ids: Iterable[int], *, now: datetime.datetime | None = None) -> list[int]:
    """Measure these therapists again and store it; the ids whose figures changed, their cards rebuilt.

    A constant number of queries whatever the number of therapists (up to
    `search.refresh`'s batch of a thousand changed ones).
    """
    now = now or timezone.now()
    ids = sorted(set(therapist_ids))
    if not ids:
        return []
    return _store(Therapist.objects.filter(pk__in=ids), replies_since(window_start(now), therapist_ids=ids), now)


@transaction.atomic
def refresh_all_measures(*, now: datetime.datetime | None = None) -> list[int]:
    """Measure again every therapist with a request in the window or a measure stored: the window slides daily.

    Returns the ids whose figures changed (their cards rebuilt); reads the same
    few queries whatever the number of therapists.
    """
    now = now or timezone.now()
    consultations, offers = _received_since(window_start(now))
    measured = Therapist.objects.filter(
        Q(reply_requests__gt=0)
        | Q(pk__in=consultations.values("therapist_id"))
        | Q(pk__in=offers.values("therapist_id"))
    )
    return _store(measured, replies_since(window_start(now)), now)


def _store(therapists: QuerySet, replies: dict[int, list[Reply]], now: datetime.datetime) -> list[int]:
    changed = []
    for therapist in therapists.only("pk", *MEASURED_FIELDS).order_by("pk"):
        figures = stored_figures(measure(replies.get(therapist.pk, ()), now=now))
        if any(getattr(therapist, name) != value for name, value in figures.items()):
            for name, value in figures.items():
                setattr(therapist, name, value)
            changed.append(therapist)
    Therapist.objects.bulk_update(changed, MEASURED_FIELDS, batch_size=500)
    changed_ids = [therapist.pk for therapist in changed]
    search.refresh(changed_ids)
    return changed_ids
