"""Small directories drawn by hypothesis, far from every demo metro: for the tests that compare a bounded read
with an exhaustive one (matching's ranking, the search's page)."""

from __future__ import annotations

import datetime

from hypothesis import strategies as st

import geometry
from directory import geo
from directory.demo import make_npi
from directory.models import (
    FORMATS,
    Concern,
    FocusArea,
    Insurer,
    Language,
    LicensedState,
    Office,
    Therapist,
    TherapistInsurer,
)

# Billings, Montana: far from every demo metro, so the drawn therapists are all those in reach.
CENTER = geo.Place(45.7833, -108.5007, "MT", "Billings, MT")
FOCUS_AREAS = ("grief-loss", "role-disputes", "life-transitions")
CONCERNS = ("depression", "panic", "grief")
LANGUAGES = ("en", "es")
INSURERS = ("aetna", "cigna")

therapist_specs = st.fixed_dictionaries(
    {
        "accepts": st.sampled_from([True, True, True, False]),
        # Whole and fractional days, the same day for several therapists: ties in recency.
        "confirmed_days_ago": st.sampled_from([None, 0, 1, 1, 2.5, 30, 59, 61]),
        "capacity": st.sampled_from([0, 1, 3, 3, 5, 8]),
        "formats": st.one_of(st.just({"individual", "online"}), st.sets(st.sampled_from(list(FORMATS)), min_size=1)),
        "insurers": st.sets(st.sampled_from(INSURERS), min_size=1),
        "fee_min": st.sampled_from([None, 80, 150]),
        "sliding_scale": st.booleans(),
        "languages": st.sets(st.sampled_from(LANGUAGES)),
        "focus_areas": st.sets(st.sampled_from(FOCUS_AREAS)),
        "concerns": st.sets(st.sampled_from(CONCERNS)),
        "training_level": st.sampled_from(["trained", "certified", "supervisor"]),
        "replies": st.sampled_from([(0, 0), (4, 4), (5, 5), (10, 3), (8, 8)]),  # (requests, answered in time)
        "recent_offers": st.sampled_from([0, 0, 2, 12]),
        # Offices as (miles north, miles east) of the center, on a coarse grid: equal distances, tied scores.
        # 30 miles west is past 109° W, in the next strip of longitude the index is read by.
        "offices": st.lists(
            st.tuples(st.sampled_from([0, 3, -3, 12, 30]), st.sampled_from([0, 4, -10, -30])), max_size=2
        ),
        "states": st.sets(st.sampled_from(["MT", "WY"]), min_size=1),
    }
)


def offset(north_miles: float, east_miles: float) -> tuple[float, float]:
    latitude = CENTER.latitude + north_miles / geometry.MILES_PER_DEGREE_LATITUDE
    longitude = CENTER.longitude + east_miles / (
        geometry.MILES_PER_DEGREE_LATITUDE * geometry.math.cos(geometry.math.radians(latitude))
    )
    return latitude, longitude


def create(number: int, spec: dict, now: datetime.datetime) -> Therapist:
    confirmed = spec["confirmed_days_ago"]
    requests, in_time = spec["replies"]
    therapist = Therapist.objects.create(
        npi=make_npi(8_000_000 + number), first_name="Drawn", last_name=f"Therapist {number}", credentials="LCSW",
        status=Therapist.Status.PUBLISHED, accepts_new_clients=spec["accepts"], capacity=spec["capacity"],
        availability_confirmed_at=None if confirmed is None else now - datetime.timedelta(days=confirmed),
        fee_min=spec["fee_min"], fee_max=None if spec["fee_min"] is None else 200,
        sliding_scale=spec["sliding_scale"], training_level=spec["training_level"],
        reply_requests=requests, reply_answered=in_time, reply_answered_in_time=in_time,
        reply_median_hours=12.0 if requests else None,
        **{f"offers_{slug}": slug in spec["formats"] for slug in FORMATS},
    )  # fmt: skip
    therapist.languages.set(Language.objects.filter(code__in=spec["languages"]))
    therapist.focus_areas.set(FocusArea.objects.filter(slug__in=spec["focus_areas"]))
    therapist.concerns.set(Concern.objects.filter(slug__in=spec["concerns"]))
    TherapistInsurer.objects.bulk_create(
        TherapistInsurer(therapist=therapist, insurer=insurer)
        for insurer in Insurer.objects.filter(slug__in=spec["insurers"])
    )
    Office.objects.bulk_create(
        Office(therapist=therapist, address="1 Main St", city="Billings", state="MT", postal_code="59101",
               latitude=latitude, longitude=longitude)
        for latitude, longitude in (offset(north, east) for north, east in spec["offices"])
    )  # fmt: skip
    LicensedState.objects.bulk_create(LicensedState(therapist=therapist, state=state) for state in spec["states"])
    return therapist
