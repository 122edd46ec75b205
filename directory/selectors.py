"""Reads of the directory shaped for its pages."""

from __future__ import annotations

from collections.abc import Iterable

from directory import search
from directory.models import Therapist


def page_therapists(result: search.ResultPage) -> list[Therapist]:
    """The therapists of a page of results, in its order, with all a result card shows and `distance_miles`.

    A fixed number of queries (`Therapist.objects.for_listing()`); a therapist
    unpublished since the search is left out.
    """
    by_id = Therapist.objects.published().for_listing().in_bulk(result.therapist_ids)
    therapists = []
    for hit in result.hits:
        therapist = by_id.get(hit.therapist_id)
        if therapist is not None:
            therapist.distance_miles = hit.distance_miles
            therapists.append(therapist)
    return therapists


def office_markers(therapists: Iterable[Therapist]) -> list[dict]:
    """The map's markers: one per located office of these therapists, with public office facts only.

    Reads the offices `Therapist.objects.for_listing()` prefetched, so a page's map costs no query.
    Coordinates are rounded to about a metre, as precise as any address.
    """
    return [
        {
            "name": therapist.full_name,
            "credentials": therapist.credentials,
            "url": therapist.get_absolute_url(),
            "label": office.label,
            "address": office.address,
            "city": office.city,
            "state": office.state,
            "latitude": round(office.latitude, 5),
            "longitude": round(office.longitude, 5),
        }
        for therapist in therapists
        for office in therapist.offices.all()
        if office.latitude is not None and office.longitude is not None
    ]
