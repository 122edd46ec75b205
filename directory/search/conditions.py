"""Conditions an index entry fails: what matching's hard constraints mean in SQL, one function per kind.

Each returns an opaque condition for `reach.candidates_in_reach`; the
vocabularies are named by slug (languages by code), as the engine names them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db.models import Q

from directory.models import Insurer, Language
from directory.search.models import AGE_GROUP_BITS, FORMAT_BITS, SearchEntry, has_any
from directory.vocabularies import reference_rows

Condition = Q
ALWAYS = Q(pk__isnull=False)


def not_accepting() -> Condition:
    return Q(accepting_since__isnull=True)


def confirmed_before(cutoff: datetime.datetime) -> Condition:
    return Q(accepting_since__lt=cutoff)


def no_capacity() -> Condition:
    return Q(capacity__lte=0)


def panel_closed_to(insurer_slug: str) -> Condition:
    """Not in this insurer's network with a panel open to new clients (an unknown insurer: nobody is)."""
    insurer = reference_rows(Insurer, "slug").get(insurer_slug)
    return ~has_any("open_insurers", [insurer.pk]) if insurer else ALWAYS


def fee_above(max_fee: int) -> Condition:
    """Self-pay: the lowest fee is above the budget, without a sliding scale (no fee given: affordable)."""
    return ~(Q(sliding_scale=True) | Q(fee_min__isnull=True) | Q(fee_min__lte=max_fee))


def offers_none_of(formats: Iterable[str]) -> Condition:
    return ~has_any("formats", [FORMAT_BITS[slug] for slug in formats])


def cannot_deliver(formats: Iterable[str]) -> Condition:
    """The entry puts the therapist in reach for none of these formats: an office for one offered in person,
    or a licence for online sessions."""
    in_person = [FORMAT_BITS[slug] for slug in formats if slug != "online"]
    delivers = Q(pk__in=[])
    if in_person:
        delivers |= Q(has_any("formats", in_person), kind=SearchEntry.Kind.OFFICE)
    if "online" in formats:
        delivers |= Q(has_any("formats", [FORMAT_BITS["online"]]), kind=SearchEntry.Kind.LICENCE)
    return ~delivers


def offers_in_person(formats: Iterable[str]) -> Condition:
    """Offers one of these formats in person (the formats other than online)."""
    return has_any("formats", [FORMAT_BITS[slug] for slug in formats if slug != "online"])


def serves_not(age_group: str) -> Condition:
    return ~has_any("age_groups", [AGE_GROUP_BITS[age_group]])


def speaks_not(language_code: str) -> Condition:
    language = reference_rows(Language, "code").get(language_code)
    return ~has_any("languages", [language.pk]) if language else ALWAYS
