"""Reads of the directory shaped for its pages."""

from __future__ import annotations

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
