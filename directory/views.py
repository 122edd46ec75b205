"""Server-rendered pages: the public directory and the therapist's own profile."""

from __future__ import annotations

import sys
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views import defaults, static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import therapist_required
from directory import editor, photos, profiles, search
from directory.errors import UNAVAILABLE_RETRY_SECONDS, database_unreachable, is_api, json_error
from directory.filters import (
    ACCEPTING_CHOICES,
    DEFAULT_RADIUS_MILES,
    PARAMETER_OF_FIELD,
    RADIUS_CHOICES,
    TherapistFilter,
    applied_filters,
    normalized_query,
    parse_page_parameters,
    query_errors,
)
from directory.forms import (
    ListingReportForm,
    PhotoForm,
    ProfileForm,
    add_service_errors,
    error_summary,
    formset_rows,
)
from directory.models import AGE_GROUPS, FORMATS, FocusArea, Therapist
from directory.security import client_ip
from directory.selectors import page_therapists

PAGING_PARAMETERS = ("page", "page_size")


def home(request: HttpRequest) -> HttpResponse:
    filterset = TherapistFilter()
    context = {
        "form": filterset.form,
        "radius_choices": RADIUS_CHOICES,
        "focus_areas": FocusArea.objects.all(),
        "published_count": Therapist.objects.published().count(),
    }
    return render(request, "directory/home.html", context)


def therapist_list(request: HttpRequest) -> HttpResponse:
    query = normalized_query(request.GET)
    filterset = TherapistFilter(query, default_accepting="true")
    context = {
        "form": filterset.form,
        "radius_choices": RADIUS_CHOICES,
        "query": query,
        "radius": query.get("radius") or DEFAULT_RADIUS_MILES,
        # After a search the results come first and the form folds away; a first visit opens it.
        "is_search": any(name in query for name in (*filterset.base_filters, *PAGING_PARAMETERS)),
    }
    try:
        page, page_size = parse_page_parameters(query)
    except ValidationError as error:
        context.update(_search_errors(error.message_dict, filterset.form))
        return render(request, "directory/therapist_list.html", context, status=400)
    if not filterset.is_valid():
        context.update(_search_errors(query_errors(filterset), filterset.form))
        return render(request, "directory/therapist_list.html", context, status=400)
    search_query = filterset.query()
    try:
        result = search.page(search_query, number=page, size=page_size)
    except search.PageNotFound as error:
        raise Http404("That page of results does not exist.") from error
    if result.count == 0:  # only then: a search with results costs what it did
        found = search.suggest(search_query, radius_steps=RADIUS_CHOICES)
        context["empty"] = _empty_search(query, filterset.form.cleaned_data, found)
    therapists = page_therapists(result)
    context.update(
        {
            "therapists": therapists,
            "count": result.count,
            "count_is_exact": result.count_is_exact,
            "has_next": result.has_next,
            "page": result.page,
            "first_index": result.start + 1,
            "pages": result.pages,
            "place": filterset.place,
            "page_query": _without(query, "page"),
            "now": timezone.now(),
            "asked_online": "online" in query.getlist("format"),
            "applied_filters": applied_filters(filterset, query),
            # For the cards: the plans to highlight, and the search their profile links carry back.
            "asked_insurer_ids": {insurer.pk for insurer in filterset.form.cleaned_data.get("insurance") or ()},
            "search_query": query.urlencode(),
        }
    )
    return render(request, "directory/therapist_list.html", context)


def _empty_search(query: QueryDict, data: dict, found: search.Suggestions) -> dict:
    """What the page says of a search that found nobody: the suggestions as sentences and links."""
    removals = [
        {
            "label": _filter_label(field, data),
            "count": count,
            "query": _changed(query, **{PARAMETER_OF_FIELD[field]: ["any"] if field == "accepting" else None}),
            "accepting": field == "accepting",
        }
        for field, count in found.removals
    ]
    helpful = [removal for removal in removals if removal["count"]]
    radius, online = None, None
    if found.larger_radius is not None:
        miles, count = found.larger_radius
        radius = {"miles": miles, "count": count, "query": _changed(query, radius=[str(miles)])}
    if found.online is not None:
        online_query = _changed(query, format=[*query.getlist("format"), "online"])
        online = {"state": found.online_state, "count": found.online, "query": online_query}
    return {
        "blocker": helpful[0] if len(helpful) == 1 else None,
        "removals": helpful,
        "checked": removals,
        "nearest": found.nearest,
        "radius": radius,
        "online": online,
    }


def _filter_label(field: str, data: dict) -> str:
    """A filter as the page names it: its values ("Spanish", "Aetna or Cigna"), or what it asks."""
    if field == "text":
        return f"the words “{data['q'].strip()}”"
    if field == "state":
        return f"a licence in {data['state']}"
    if field == "accepting":  # the page's default is "true"
        return f"“{ACCEPTING_CHOICES[data.get('accepting') or 'true']}”"
    names = {"formats": FORMATS, "age_groups": AGE_GROUPS}.get(field)
    values = data[PARAMETER_OF_FIELD[field]]
    return _any_of([names[value] for value in values] if names else [row.name for row in values])


def _any_of(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _changed(query: QueryDict, **changes: list[str] | None) -> str:
    """The query string of the same search, first page, with these parameters replaced (None: removed)."""
    changed = query.copy()
    changed.pop("page", None)
    for name, values in changes.items():
        if values is None:
            changed.pop(name, None)
        else:
            changed.setlist(name, values)
    return changed.urlencode()


def _search_errors(errors: dict[str, list[str]], form: forms.Form) -> dict:
    labels = {name: str(field.label) for name, field in form.fields.items()}
    return {"errors": errors, "error_summary": error_summary(errors, labels)}


def therapist_detail(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = get_object_or_404(Therapist.objects.published().for_listing(), slug=slug)
    search_query = request.GET.get("from", "")
    return render(
        request,
        "directory/therapist_detail.html",
        {
            "therapist": therapist,
            "now": timezone.now(),
            "freshness_days": settings.AVAILABILITY_FRESHNESS_DAYS,
            "reply_business_days": settings.CONSULTATION_REPLY_BUSINESS_DAYS,
            "back_url": results_url(search_query),
            # The search the profile was opened from, carried on by "Request a consultation".
            "search_query": search_query if len(search_query) <= MAX_BACK_QUERY_LENGTH else "",
        },
    )


MAX_BACK_QUERY_LENGTH = 1000  # a search is far shorter; and under 1,000 fields, Django's limit


def results_url(search_query: str) -> str:
    """The search page with the query a profile was opened from (`?from=`), or the plain search page.

    Only ever a query string on /therapists/, re-encoded from its parsed
    parameters: whatever `from` holds, the link stays on this site.
    """
    url = reverse("directory:therapist-list")
    if not search_query or len(search_query) > MAX_BACK_QUERY_LENGTH:
        return url
    encoded = QueryDict(search_query).urlencode()
    return f"{url}?{encoded}" if encoded else url


def _without(query: object, name: str) -> str:
    remaining = query.copy()
    remaining.pop(name, None)
    return remaining.urlencode()


LEGACY_FORMSETS = {section.rows: section for section in editor.SECTIONS.values() if section.formset}


@therapist_required
def my_profile(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    """The editor's overview: status, what is missing before submission, the sections, photo and availability."""
    if request.method == "POST":
        return _legacy_post(request, therapist)
    return _profile_page(request, therapist)


def _legacy_post(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    """The old one-page form, still posted by a tab opened before the editor had sections: saved whole when it is
    valid (the same service and rules), else nothing is saved and the therapist is sent to the sections."""
    form = ProfileForm(request.POST, instance=therapist, prefix="profile")
    formsets = {
        name: editor.bind_formset(section, therapist, request.POST) for name, section in LEGACY_FORMSETS.items()
    }
    if form.is_valid() and all(formset.is_valid() for formset in formsets.values()):
        rows = {
            name: formset_rows(formsets[name], list(section.row_fields), with_id=name == "ipt_credentials")
            for name, section in LEGACY_FORMSETS.items()
        }
        try:
            _save(request, therapist, form=form, rows=rows)
        except ValidationError:
            pass
        else:
            return redirect("directory:my-profile")
    messages.error(request, "Your changes were not saved. The profile is now edited one section at a time below.")
    return redirect("directory:my-profile")


def _save(request: HttpRequest, therapist: Therapist, *, form: ProfileForm | None, rows: dict[str, list]) -> None:
    """Through the one service; says whether the save sent a published profile back to review."""
    data = form.cleaned_data if form is not None else {}
    was_published = therapist.status == Therapist.Status.PUBLISHED
    profiles.update_profile(
        therapist=therapist,
        fields={name: value for name, value in data.items() if name not in editor.RELATIONS},
        **{name: data[name] for name in editor.RELATIONS if name in data},
        **rows,
    )
    if was_published and therapist.status == Therapist.Status.PENDING:
        messages.warning(
            request, "Saved. Your name, NPI, licences or credentials changed, so staff will review the profile again."
        )
    else:
        messages.success(request, "Your profile is saved.")


@therapist_required
def my_profile_section(request: HttpRequest, therapist: Therapist, section: str) -> HttpResponse:
    """One section of the editor with its own Save; a list's "Add another" and "Remove" re-show it unsaved."""
    current = editor.SECTIONS.get(section)
    if current is None:
        raise Http404("The profile has no such section.")
    data = request.POST if request.method == "POST" else None
    form = current.form(data, instance=therapist) if current.form else None
    formset = editor.bind_formset(current, therapist, data) if current.formset else None
    if data is not None and formset is not None and ("add" in data or "remove" in data):
        if "add" in data:
            formset = editor.with_row_added(current, therapist, data)
        else:
            formset = editor.with_row_removed(current, therapist, data, data["remove"])
        return _section_page(request, therapist, current, form=form, formset=formset)
    if data is not None and (form is None or form.is_valid()) and (formset is None or formset.is_valid()):
        rows = {}
        if formset is not None:
            rows[current.rows] = formset_rows(
                formset, list(current.row_fields), with_id=current.rows == "ipt_credentials"
            )
        try:
            _save(request, therapist, form=form, rows=rows)
        except ValidationError as error:
            add_service_errors(error, form or forms.Form(), {current.rows: formset} if formset else {})
        else:
            return redirect("directory:my-profile")
    return _section_page(
        request, therapist, current, form=form, formset=formset, status=400 if data is not None else 200
    )


def _section_page(
    request: HttpRequest,
    therapist: Therapist,
    section: editor.Section,
    *,
    form: ProfileForm | None,
    formset: forms.BaseInlineFormSet | None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "therapist": therapist,
        "section": section,
        "sections": editor.SECTIONS.values(),
        "form": form,
        "formset": formset,
        "rows": editor.shown_rows(formset) if formset is not None else [],
        "removed": [row for row in formset.forms if editor.is_removed(row)] if formset is not None else [],
        "error_links": editor.error_links(section, form, formset) if status == 400 else [],
        "now": timezone.now(),
        "freshness_days": settings.AVAILABILITY_FRESHNESS_DAYS,
    }
    return render(request, "directory/my_profile_section.html", context, status=status)


def _profile_page(
    request: HttpRequest, therapist: Therapist, *, photo_form: PhotoForm | None = None, status: int = 200
) -> HttpResponse:
    """The overview, with the photo form given (bound, with its errors) or fresh."""
    missing = profiles.submission_checklist(therapist=therapist)
    checklist = [
        {"text": item.text, "is_required": item.is_required, "section": editor.SECTION_OF_FIELD[item.field]}
        for item in missing
    ]
    context = {
        "therapist": therapist,
        "section_states": editor.section_states(missing),
        "checklist": checklist,
        "can_submit": not any(item["is_required"] for item in checklist),
        "photo_form": photo_form or PhotoForm(),
        "now": timezone.now(),
        "freshness_days": settings.AVAILABILITY_FRESHNESS_DAYS,
        "silence_limit": settings.CONSULTATION_SILENCE_LIMIT,
    }
    return render(request, "directory/my_profile.html", context, status=status)


@require_POST
@therapist_required
def my_photo(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    """Upload a new photo from the profile page; it waits for staff before anyone else sees it."""
    photo_form = PhotoForm(request.POST, request.FILES)
    if photo_form.is_valid():
        try:
            photos.submit_photo(therapist=therapist, upload=photo_form.cleaned_data["photo"])
        except ValidationError as error:
            add_service_errors(error, photo_form, {})
        else:
            messages.success(request, "Thank you: your photo is uploaded. Staff will review it before it is shown.")
            return redirect(f"{reverse('directory:my-profile')}#photo-heading")
    return _profile_page(request, therapist, photo_form=photo_form, status=400)


@require_POST
@therapist_required
def my_photo_remove(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    photos.remove_photo(therapist=therapist)
    messages.success(request, "Your photo is removed.")
    return redirect(f"{reverse('directory:my-profile')}#photo-heading")


def media(request: HttpRequest, path: str) -> HttpResponse:
    """Uploaded files from MEDIA_ROOT, when SERVE_MEDIA is on (development); production's proxy or store serves them."""
    if not settings.SERVE_MEDIA:
        raise Http404("Media are not served here.")
    return static.serve(request, path, document_root=settings.MEDIA_ROOT)


@require_POST
@therapist_required
def my_profile_submit(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    try:
        profiles.submit_for_review(therapist=therapist)
    except ValidationError as error:
        for message_list in error.message_dict.values():
            for message in message_list:
                messages.error(request, message)
    else:
        messages.success(request, "Submitted. Staff will review your profile and email you.")
    return redirect("directory:my-profile")


@require_POST
@therapist_required
def my_availability_confirm(request: HttpRequest, therapist: Therapist) -> HttpResponse:
    was_silenced = therapist.silenced_at is not None
    profiles.confirm_availability(therapist=therapist, now=timezone.now())
    back = " You are back in searches for therapists accepting new clients." if was_silenced else ""
    messages.success(request, f"Thank you: your availability is confirmed as of today.{back}")
    return redirect("directory:my-profile")


def report_listing(request: HttpRequest, slug: str) -> HttpResponse:
    therapist = get_object_or_404(Therapist.objects.published(), slug=slug)
    form = ListingReportForm(request.POST if request.method == "POST" else None)
    context = {"therapist": therapist, "form": form}
    if request.method != "POST":
        return render(request, "directory/report_listing.html", context)
    if form.is_valid():
        try:
            profiles.report_listing(
                therapist=therapist, reason=form.cleaned_data["reason"], details=form.cleaned_data["details"],
                client_ip=client_ip(request), now=timezone.now(),
            )  # fmt: skip
        except profiles.ReportsThrottled as error:
            context["throttled"] = str(error)
            return render(request, "directory/report_listing.html", context, status=429)
        except ValidationError as error:
            add_service_errors(error, form, {})
        else:
            messages.success(
                request, "Thank you. We have asked the therapist to check their listing, and staff will look at it."
            )
            return redirect(therapist.get_absolute_url())
    return render(request, "directory/report_listing.html", context, status=400)


FAVICON = Path(settings.BASE_DIR) / "static" / "favicon.ico"


@require_safe
@cache_control(public=True, max_age=7 * 24 * 3600)
def favicon(request: HttpRequest) -> FileResponse:
    """/favicon.ico: browsers ask for it whatever the pages link, and a 404 on every page fills the logs."""
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL that matches nothing: JSON under /api/ (as the API's own 404s), Django's page elsewhere."""
    if is_api(request):
        return json_error("Not found.", status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused before any view (a body over the size limit, a forged host): JSON under /api/."""
    if is_api(request):
        return json_error("Bad request.", status=400)
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected failure, without details: JSON under /api/, the plain page elsewhere.

    A database that no longer answers is not the request's fault and passes:
    503 with Retry-After, so load balancers and clients try again.
    """
    if database_unreachable(sys.exc_info()[1]):
        message = "The service is briefly unavailable. Please try again shortly."
        if is_api(request):
            return json_error(message, status=503, retry_after=UNAVAILABLE_RETRY_SECONDS)
        response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(UNAVAILABLE_RETRY_SECONDS)
        return response
    if is_api(request):
        return json_error("Server error.", status=500)
    return defaults.server_error(request)
