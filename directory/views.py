"""Server-rendered pages of the public directory."""

from __future__ import annotations

import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from directory.filters import DEFAULT_RADIUS_MILES, TherapistFilter, normalized_query, query_errors
from directory.models import FocusArea, Therapist
from directory.services import attach_distances, parse_page_parameters

RADIUS_CHOICES = [5, 10, 25, 50, 100, 250, 500]


def home(request: HttpRequest) -> HttpResponse:
    filterset = TherapistFilter(queryset=Therapist.objects.none())
    context = {
        "form": filterset.form,
        "radius_choices": RADIUS_CHOICES,
        "focus_areas": FocusArea.objects.all(),
        "published_count": Therapist.objects.published().count(),
    }
    return render(request, "directory/home.html", context)


def therapist_list(request: HttpRequest) -> HttpResponse:
    query = normalized_query(request.GET)
    filterset = TherapistFilter(query, queryset=Therapist.objects.published(), default_accepting="true")
    context = {
        "form": filterset.form,
        "radius_choices": RADIUS_CHOICES,
        "query": query,
        "radius": query.get("radius") or DEFAULT_RADIUS_MILES,
    }
    try:
        page, page_size = parse_page_parameters(query)
    except ValidationError as error:
        return render(request, "directory/therapist_list.html", {**context, "errors": error.message_dict}, status=400)
    if not filterset.is_valid():
        context["errors"] = query_errors(filterset)
        return render(request, "directory/therapist_list.html", context, status=400)
    queryset = filterset.qs
    count = queryset.count()
    pages = max(1, math.ceil(count / page_size))
    if page > pages:
        raise Http404("That page of results does not exist.")
    start = (page - 1) * page_size
    therapists = list(queryset.for_listing()[start : start + page_size])
    attach_distances(therapists, filterset.place)
    context.update(
        {
            "therapists": therapists,
            "count": count,
            "page": page,
            "first_index": start + 1,
            "pages": pages,
            "place": filterset.place,
            "page_query": _without(query, "page"),
            "now": timezone.now(),
            "asked_online": "online" in query.getlist("format"),
        }
    )
    return render(request, "directory/therapist_list.html", context)


def therapist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = get_object_or_404(Therapist.objects.published().for_listing(), slug=slug)
    return render(
        request,
        "directory/therapist_detail.html",
        {
            "therapist": therapist,
            "now": timezone.now(),
            "freshness_days": settings.AVAILABILITY_FRESHNESS_DAYS,
        },
    )


def _without(query: object, name: str) -> str:
    remaining = query.copy()
    remaining.pop(name, None)
    return remaining.urlencode()
